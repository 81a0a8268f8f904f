package httpcache

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleEntry() *Entry {
	return &Entry{
		Status: 200,
		Header: header("Content-Type", "application/json", "Cache-Control", "max-age=60",
			"Date", httpDate(t0), "Link", "<a>", "Link", "<b>", "X-Empty", ""),
		Body:         []byte(`{"ok":true}`),
		RequestTime:  t0.Add(123456789 * time.Nanosecond),
		ResponseTime: t0.Add(time.Second),
		Vary:         []string{"Accept", "Authorization"},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]*Entry{
		"Full":      sampleEntry(),
		"Zero":      {},
		"Index":     {Vary: []string{"Accept-Encoding"}},
		"EmptyBody": {Status: 204, Header: header("Etag", `"x"`), ResponseTime: t0},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := e.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			var got Entry
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if !got.RequestTime.Equal(e.RequestTime) || !got.ResponseTime.Equal(e.ResponseTime) {
				t.Errorf("times %v, %v; want %v, %v", got.RequestTime, got.ResponseTime, e.RequestTime, e.ResponseTime)
			}
			got.RequestTime, got.ResponseTime = e.RequestTime, e.ResponseTime
			if len(e.Body) == 0 && len(got.Body) == 0 {
				got.Body = e.Body
			}
			if len(e.Header) == 0 && len(got.Header) == 0 {
				got.Header = e.Header
			}
			if !reflect.DeepEqual(&got, e) {
				t.Errorf("got %+v, want %+v", got, *e)
			}
			again, _ := got.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Error("encoding not stable")
			}
		})
	}
}

func TestEntryUnmarshalErrors(t *testing.T) {
	t.Parallel()
	good, _ := sampleEntry().MarshalBinary()
	lines := &Entry{Status: 200, Header: make(http.Header)}
	for i := range 300 {
		lines.Header.Set("X-F"+strings.Repeat("a", i), "v")
	}
	big := &Entry{Status: 200, Header: header("X-Big", strings.Repeat("a", 70<<10))}
	tests := map[string][]byte{
		"Empty":         nil,
		"BadMagic":      []byte("nope"),
		"Truncated":     good[:len(good)-3],
		"Trailing":      append(append([]byte(nil), good...), 0),
		"HugeCount":     append([]byte(entryMagic+"\xc8\x01\x00\x00\x00\x00"), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"StatusTooHigh": []byte(entryMagic + "\xe8\x07"),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := sampleEntry()
			err := e.UnmarshalBinary(b)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("UnmarshalBinary: %v, want ErrCorrupt", err)
			}
			if !reflect.DeepEqual(e, sampleEntry()) {
				t.Error("entry changed on error")
			}
		})
	}
	for name, e := range map[string]*Entry{"TooManyLines": lines, "TooManyBytes": big} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := e.MarshalBinary(); !errors.Is(err, ErrTooLarge) {
				t.Errorf("MarshalBinary: %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestEntrySize(t *testing.T) {
	t.Parallel()
	e := sampleEntry()
	small := e.Size()
	e.Body = make([]byte, 1000)
	if got := e.Size(); got-small != int64(1000-len(sampleEntry().Body)) {
		t.Errorf("Size grew by %d for %d more body bytes", got-small, 1000-len(sampleEntry().Body))
	}
}

func FuzzEntryUnmarshal(f *testing.F) {
	good, _ := sampleEntry().MarshalBinary()
	f.Add(good)
	f.Add([]byte(entryMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if err := e.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		m1, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded entry: %v", err)
		}
		var e2 Entry
		if err := e2.UnmarshalBinary(m1); err != nil {
			t.Fatalf("UnmarshalBinary of MarshalBinary: %v", err)
		}
		m2, _ := e2.MarshalBinary()
		if !bytes.Equal(m1, m2) {
			t.Fatal("marshal(unmarshal(x)) not stable")
		}
	})
}
