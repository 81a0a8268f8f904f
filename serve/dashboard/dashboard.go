package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// assetsDir is the directory of the embedded files in assets.
const assetsDir = "assets"

// indexFile is the file served at the handler's root.
const indexFile = "index.html"

// ContentSecurityPolicy is the Content-Security-Policy of every response:
// scripts, styles, images and fetches from the page's own origin only, no
// inline scripts or styles, no plugins, forms or framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// contentTypes maps the extensions of the embedded files to their
// Content-Type, fixed here rather than looked up in the system's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// handler serves the embedded assets. It is read-only after Handler builds
// it, so it is safe for concurrent use.
type handler struct {
	files map[string]asset // by name, without the directory
}

// Handler returns the dashboard: index.html at its root ("/" or, behind
// http.StripPrefix, ""), and the page's scripts, styles and icon by their
// names. Anything else is a 404; methods other than GET and HEAD are a 405.
// Every response carries ContentSecurityPolicy; files are sent with
// Cache-Control: no-cache and an ETag, so browsers revalidate them and a new
// binary's page replaces the old one. The handler is safe for concurrent use.
func Handler() http.Handler {
	entries, err := fs.ReadDir(assets, assetsDir)
	if err != nil {
		panic("dashboard: embedded assets: " + err.Error()) // only if the go:embed line is wrong
	}
	h := &handler{files: make(map[string]asset, len(entries))}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		body, err := assets.ReadFile(path.Join(assetsDir, e.Name()))
		if err != nil {
			panic("dashboard: embedded assets: " + err.Error())
		}
		h.files[e.Name()] = newAsset(e.Name(), body)
	}
	return h
}

// newAsset returns the file name with body, its Content-Type and a strong
// ETag of its content.
func newAsset(name string, body []byte) asset {
	sum := sha256.Sum256(body)
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	return asset{name: name, body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// ServeHTTP serves one file, or a 404 or 405.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.lookup(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// lookup returns the file at urlPath, relative to where the handler is
// mounted: the root is index.html.
func (h *handler) lookup(urlPath string) (asset, bool) {
	name := strings.TrimPrefix(urlPath, "/")
	if name == "" {
		name = indexFile
	}
	a, ok := h.files[name]
	return a, ok
}
