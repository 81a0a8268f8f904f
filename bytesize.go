package heed

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes. In a config file it is an integer (bytes)
// or a number with a unit: B, KiB, MiB, GiB (powers of 1024) or kB, MB, GB
// (powers of 1000), as in "64MiB" or "1.5 MB".
type ByteSize int64

// byteUnits are the units ParseByteSize reads, longest first where one
// ends another.
var byteUnits = []struct {
	name string
	n    float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// errByteSize is wrapped by every error of ParseByteSize.
var errByteSize = errors.New("want bytes as an integer or a number with a unit (B, KiB, MiB, GiB, kB, MB, GB), as in 64MiB")

// ParseByteSize reads s as ByteSize's doc describes.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	if t == "" || len(t) > 32 {
		return 0, fmt.Errorf("%q: %w", truncate(s, 40), errByteSize)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && mult == 1 {
		if n < 0 {
			return 0, fmt.Errorf("%q: must not be negative", s)
		}
		return ByteSize(n), nil
	}
	f, err := strconv.ParseFloat(t, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(t, "xXpP_"):
		return 0, fmt.Errorf("%q: %w", truncate(s, 40), errByteSize)
	case f < 0:
		return 0, fmt.Errorf("%q: must not be negative", s)
	case f*mult >= math.MaxInt64:
		return 0, fmt.Errorf("%q: too large", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalText reads a ByteSize as ParseByteSize does.
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// String writes b in the largest binary unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b != 0 && b%(1<<30) == 0:
		return strconv.FormatInt(int64(b>>30), 10) + "GiB"
	case b != 0 && b%(1<<20) == 0:
		return strconv.FormatInt(int64(b>>20), 10) + "MiB"
	case b != 0 && b%(1<<10) == 0:
		return strconv.FormatInt(int64(b>>10), 10) + "KiB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// truncate returns s cut to n bytes, for quoting input in errors.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
