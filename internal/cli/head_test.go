package cli

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heedhq/heed/quota"
)

func TestReadHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{name: "CurlSICRLF",
			in:         "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 42\r\nContent-Type: application/json\r\n\r\n{\"error\":\"slow down\"}",
			wantStatus: 429,
			wantHeader: http.Header{"Retry-After": {"42"}, "Content-Type": {"application/json"}},
			wantBody:   `{"error":"slow down"}`},
		{name: "CurlSIHTTP2NoReason", in: "HTTP/2 429\r\nretry-after: 7\r\n\r\n",
			wantStatus: 429, wantHeader: http.Header{"Retry-After": {"7"}}},
		{name: "TrailingSpaceAfterCode", in: "HTTP/2 200 \r\nx-ratelimit-remaining: 4999\r\n\r\n",
			wantStatus: 200, wantHeader: http.Header{"X-Ratelimit-Remaining": {"4999"}}},
		{name: "LFLineEndings", in: "HTTP/1.1 503 Service Unavailable\nRetry-After: 120\n\nbody\n",
			wantStatus: 503, wantHeader: http.Header{"Retry-After": {"120"}}, wantBody: "body\n"},
		{name: "LowerCaseHTTP", in: "http/1.0 404 Not Found\n\n",
			wantStatus: 404, wantHeader: http.Header{}},
		{name: "StatusLineOnly", in: "HTTP/1.1 429 Too Many Requests\r\n",
			wantStatus: 429, wantHeader: http.Header{}},
		{name: "NoStatusLine", in: "Retry-After: 42\nX-RateLimit-Limit: 60\n",
			wantHeader: http.Header{"Retry-After": {"42"}, "X-Ratelimit-Limit": {"60"}}},
		{name: "NoBlankLineNoBody", in: "HTTP/1.1 200 OK\r\nA: 1",
			wantStatus: 200, wantHeader: http.Header{"A": {"1"}}},
		{name: "LeadingBlankLines", in: "\r\n  \n\nHTTP/1.1 200 OK\nA: 1\n",
			wantStatus: 200, wantHeader: http.Header{"A": {"1"}}},
		{name: "FoldedWithSpace", in: "HTTP/1.1 200 OK\r\nRateLimit-Policy: 100;w=60,\r\n  1000;w=3600\r\n\r\n",
			wantStatus: 200, wantHeader: http.Header{"Ratelimit-Policy": {"100;w=60, 1000;w=3600"}}},
		{name: "FoldedWithTab", in: "X-Note: one\n\ttwo\n\tthree\n",
			wantHeader: http.Header{"X-Note": {"one two three"}}},
		{name: "RepeatedHeaderKeepsBoth", in: "HTTP/1.1 200 OK\nRateLimit: a\nratelimit: b\n",
			wantStatus: 200, wantHeader: http.Header{"Ratelimit": {"a", "b"}}},
		{name: "EmptyValueAndSpaceBeforeColon", in: "X-Empty:\nRetry-After : 5\n",
			wantHeader: http.Header{"X-Empty": {""}, "Retry-After": {"5"}}},
		{name: "ValueKeepsInnerColons", in: "Date: Tue, 14 Apr 2026 09:12:18 GMT\n",
			wantHeader: http.Header{"Date": {"Tue, 14 Apr 2026 09:12:18 GMT"}}},
		{name: "ContinueThenFinal",
			in:         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 42\r\n\r\n{}",
			wantStatus: 429, wantHeader: http.Header{"Retry-After": {"42"}}, wantBody: "{}"},
		{name: "ProxyConnectionEstablished",
			in:         "HTTP/1.1 200 Connection established\r\n\r\nHTTP/2 429 \r\nretry-after: 3\r\n\r\n",
			wantStatus: 429, wantHeader: http.Header{"Retry-After": {"3"}}},
		{name: "RedirectsFollowed",
			in:         "HTTP/2 301 \r\nlocation: https://example.com/\r\n\r\nHTTP/2 200 \r\nx-ratelimit-remaining: 9\r\n\r\n",
			wantStatus: 200, wantHeader: http.Header{"X-Ratelimit-Remaining": {"9"}}},
		{name: "BodyStartingWithBlankLine", in: "HTTP/1.1 200 OK\n\n\nbody",
			wantStatus: 200, wantHeader: http.Header{}, wantBody: "\nbody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readHead([]byte(tt.in))
			if err != nil {
				t.Fatalf("readHead: %v", err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("Status: got %d, want %d", got.Status, tt.wantStatus)
			}
			if !reflect.DeepEqual(got.Header, tt.wantHeader) {
				t.Errorf("Header: got %v, want %v", got.Header, tt.wantHeader)
			}
			if string(got.Body) != tt.wantBody {
				t.Errorf("Body: got %q, want %q", got.Body, tt.wantBody)
			}
		})
	}
}

func TestReadHeadBodyIsBounded(t *testing.T) {
	t.Parallel()
	in := "HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", quota.MaxBody+100)
	got, err := readHead([]byte(in))
	if err != nil {
		t.Fatalf("readHead: %v", err)
	}
	if len(got.Body) != quota.MaxBody {
		t.Errorf("len(Body): got %d, want %d", len(got.Body), quota.MaxBody)
	}
}

func TestReadHeadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		wantEmpty bool
		wantLine  int
		wantIn    string // a part of the error message
	}{
		{name: "Empty", in: "", wantEmpty: true},
		{name: "BlankLinesOnly", in: "\r\n\r\n \t\n", wantEmpty: true},
		{name: "BodyOnly", in: `{"message":"API rate limit exceeded"}`, wantLine: 1,
			wantIn: "neither a status line nor a header"},
		{name: "ProseOnly", in: "\nrate limit exceeded\n", wantLine: 2, wantIn: "neither"},
		{name: "NoStatusCode", in: "HTTP/1.1\r\n", wantLine: 1, wantIn: "no status code"},
		{name: "TwoDigitCode", in: "HTTP/1.1 42 Odd\r\n", wantLine: 1, wantIn: "three digits"},
		{name: "LeadingZeroCode", in: "HTTP/1.1 099 Odd\r\n", wantLine: 1, wantIn: "three digits"},
		{name: "SignedCode", in: "HTTP/1.1 +42 Odd\r\n", wantLine: 1, wantIn: "three digits"},
		{name: "ContinuationFirst", in: "HTTP/1.1 200 OK\r\n  folded\r\n", wantLine: 2,
			wantIn: "continuation line"},
		{name: "BadLineLater", in: "HTTP/1.1 200 OK\r\nA: 1\r\nnot a header\r\n", wantLine: 3},
		{name: "BadSecondHead", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 abc\r\n", wantLine: 3},
		{name: "EmptyHeaderName", in: ": value\n", wantLine: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readHead([]byte(tt.in))
			if tt.wantEmpty {
				if !errors.Is(err, errEmptyInput) {
					t.Fatalf("got error %v, want errEmptyInput", err)
				}
				return
			}
			var he *headError
			if !errors.As(err, &he) {
				t.Fatalf("got error %v, want a *headError", err)
			}
			if he.line != tt.wantLine {
				t.Errorf("line: got %d, want %d (%v)", he.line, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
		})
	}
}

func TestHeadErrorQuotesAShortenedLine(t *testing.T) {
	t.Parallel()
	_, err := readHead([]byte(strings.Repeat("z", 100) + "\x1b[2J\n"))
	got := err.Error()
	want := `line 1: neither a status line nor a header: "` + strings.Repeat("z", maxQuotedLine) + `"`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzReadHead checks that no input makes readHead panic, and that what it
// returns keeps its promises.
func FuzzReadHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 42\r\n\r\n"))
	f.Add([]byte("X-Note: a\n b\n\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := readHead(data)
		if err != nil {
			checkHeadError(t, err)
			return
		}
		checkResponse(t, resp, data)
	})
}

// checkHeadError checks that err prints as one line, as heed explain shows it.
func checkHeadError(t *testing.T, err error) {
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
		t.Fatalf("error is not one printable line: %q", msg)
	}
}

// checkResponse checks what readHead returned for data.
func checkResponse(t *testing.T, resp quota.Response, data []byte) {
	if resp.Status != 0 && (resp.Status < 100 || resp.Status > 999) {
		t.Fatalf("Status %d is out of range", resp.Status)
	}
	if resp.Header == nil {
		t.Fatal("Header is nil")
	}
	if len(resp.Body) > quota.MaxBody {
		t.Fatalf("len(Body) = %d, more than quota.MaxBody", len(resp.Body))
	}
	if !bytes.Contains(data, resp.Body) {
		t.Fatalf("Body %q is not part of the input", resp.Body)
	}
	for key, values := range resp.Header {
		if !isToken([]byte(key)) || len(values) == 0 {
			t.Fatalf("header %q = %q: want a token key with values", key, values)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\n") {
				t.Fatalf("header %q value %q spans lines", key, v)
			}
		}
	}
}
