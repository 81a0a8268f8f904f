package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// mounted serves Handler as heed serve mounts it, at /-/.
func mounted() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/-/", http.StripPrefix("/-/", Handler()))
	return mux
}

// get sends one request to h and returns the response with its body read.
func get(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestHandlerServesAssets(t *testing.T) {
	t.Parallel()
	h := mounted()
	tests := []struct {
		name, path, wantType, wantBody string
	}{
		{"Root", "/-/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"IndexByName", "/-/index.html", "text/html; charset=utf-8", "<!doctype html>"},
		{"Script", "/-/app.js", "text/javascript; charset=utf-8", `"use strict";`},
		{"Styles", "/-/style.css", "text/css; charset=utf-8", ":root {"},
		{"Icon", "/-/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, h, http.MethodGet, tt.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", res.StatusCode)
			}
			checkHeader(t, res, "Content-Type", tt.wantType)
			checkHeader(t, res, "Cache-Control", "no-cache")
			checkHeader(t, res, "Content-Security-Policy", ContentSecurityPolicy)
			checkHeader(t, res, "X-Content-Type-Options", "nosniff")
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
		})
	}
}

func TestHandlerRefuses(t *testing.T) {
	t.Parallel()
	h := mounted()
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"UnknownFile", http.MethodGet, "/-/nope.js", http.StatusNotFound},
		{"AssetsDirectory", http.MethodGet, "/-/assets/app.js", http.StatusNotFound},
		{"Subdirectory", http.MethodGet, "/-/x/", http.StatusNotFound},
		{"Post", http.MethodPost, "/-/", http.StatusMethodNotAllowed},
		{"Delete", http.MethodDelete, "/-/app.js", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _ := get(t, h, tt.method, tt.path, nil)
			if res.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.want)
			}
			checkHeader(t, res, "Content-Security-Policy", ContentSecurityPolicy)
			if tt.want == http.StatusMethodNotAllowed {
				checkHeader(t, res, "Allow", "GET, HEAD")
			}
		})
	}
}

func TestHandlerHeadAndRevalidation(t *testing.T) {
	t.Parallel()
	h := mounted()
	res, body := get(t, h, http.MethodHead, "/-/app.js", nil)
	if res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD: got %d with %d bytes, want 200 and no body", res.StatusCode, len(body))
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, _ = get(t, h, http.MethodGet, "/-/app.js", http.Header{"If-None-Match": {etag}})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match of the current ETag: got %d, want 304", res.StatusCode)
	}
}

func TestHandlerAtRoot(t *testing.T) {
	t.Parallel()
	res, _ := get(t, Handler(), http.MethodGet, "/", nil)
	checkHeader(t, res, "Content-Type", "text/html; charset=utf-8")
}

// checkHeader checks that the response's header key is want.
func checkHeader(t *testing.T, res *http.Response, key, want string) {
	t.Helper()
	if got := res.Header.Get(key); got != want {
		t.Errorf("%s: got %q, want %q", key, got, want)
	}
}

// The checks below hold the assets to what the Content-Security-Policy and
// the "no CDN, no external fonts" rule demand, so that a slip shows here and
// not only in a browser.

func TestAssetsHaveContentTypes(t *testing.T) {
	t.Parallel()
	for _, name := range assetNames(t) {
		if _, ok := contentTypes[path.Ext(name)]; !ok {
			t.Errorf("%s: no Content-Type for %q in contentTypes", name, path.Ext(name))
		}
	}
}

var (
	// scriptTag matches a <script> start tag.
	scriptTag = regexp.MustCompile(`<script\b[^>]*>`)
	// inlineStyle matches what style-src 'self' blocks in HTML.
	inlineStyle = regexp.MustCompile(`<style\b|\sstyle=|\son[a-z]+=`)
	// externalURL matches a URL to another origin, other than XML
	// namespace names (which are never fetched).
	externalURL = regexp.MustCompile(`(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
)

func TestAssetsAreSelfContained(t *testing.T) {
	t.Parallel()
	for _, name := range assetNames(t) {
		body, err := assets.ReadFile(path.Join(assetsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(body)
		if path.Ext(name) == ".html" {
			for _, tag := range scriptTag.FindAllString(text, -1) {
				if !strings.Contains(tag, " src=") {
					t.Errorf("%s: inline script %s", name, tag)
				}
			}
			if m := inlineStyle.FindString(text); m != "" {
				t.Errorf("%s: inline style or handler %q", name, m)
			}
		}
		text = strings.ReplaceAll(text, `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := externalURL.FindString(text); m != "" {
			t.Errorf("%s: refers to another origin: %q", name, m)
		}
	}
}

// assetNames lists the embedded files.
func assetNames(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(assets, assetsDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) < 3 {
		t.Fatalf("embedded assets: got %q, want at least index.html, a script and styles", names)
	}
	return names
}
