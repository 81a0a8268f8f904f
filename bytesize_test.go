package heed_test

import (
	"testing"

	"github.com/heedhq/heed"
)

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want heed.ByteSize
		err  bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "1 MiB", want: 1 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "2GiB", want: 2 << 30},
		{in: "1.5MB", want: 1_500_000},
		{in: "10kB", want: 10_000},
		{in: "10KB", want: 10_000},
		{in: "7B", want: 7},
		{in: "", err: true},
		{in: "MiB", err: true},
		{in: "-1", err: true},
		{in: "-1MiB", err: true},
		{in: "1TiB", err: true},
		{in: "0x10", err: true},
		{in: "1e30GB", err: true},
		{in: "NaN MiB", err: true},
		{in: "1_000", err: true},
	} {
		got, err := heed.ParseByteSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	t.Parallel()
	for n, want := range map[heed.ByteSize]string{0: "0B", 1 << 20: "1MiB", 64 << 20: "64MiB", 3 << 30: "3GiB", 1536: "1536B", 2048: "2KiB"} {
		if got := n.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(n), got, want)
		}
		if back, err := heed.ParseByteSize(want); err != nil || back != n {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v", want, back, err, n)
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1.5 MB", "0", "-1", "1e300GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := heed.ParseByteSize(s)
		if err == nil && n < 0 {
			t.Errorf("ParseByteSize(%q) = %d, want no negative size", s, n)
		}
	})
}
