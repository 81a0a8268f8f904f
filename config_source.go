package heed

import (
	"errors"
	"fmt"
	"strings"
)

// Source is where a Config was read from: the file's name and the line of
// each value in it, by YAML path ("upstreams[0].retry.attempts"). Package
// config sets it in the Configs it reads, so that Validate can name the
// file and line of every problem; a Config built in code has none. A
// Source is not modified once made: it is safe to share.
type Source struct {
	// File names the file, as the reader was told it ("heed.yaml").
	File string
	// Lines holds the line of each value written in the file, by YAML
	// path: keys joined with ".", list items as [i] ("jobs.callback_allow[0]").
	Lines map[string]int
}

// Line returns the line of the value at the YAML path, or of the nearest
// enclosing value written in the file when that one was not (a default, or
// a field of a mapping written inline), and false when neither was or s is
// nil.
func (s *Source) Line(path string) (int, bool) {
	if s == nil {
		return 0, false
	}
	for ; path != ""; path = parentPath(path) {
		if line, ok := s.Lines[path]; ok {
			return line, true
		}
	}
	return 0, false
}

// Locate returns err with each ConfigError in it (err itself, or one of
// the errors errors.Join joined) placed at the line of its Path in s, as a
// copy; other errors, and ConfigErrors already placed or whose path s does
// not know, are kept as they are. A nil s returns err unchanged. Validate
// uses it, and so do heed serve and package jobs for their own sections.
func (s *Source) Locate(err error) error {
	if s == nil || err == nil {
		return err
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = s.Locate(e)
		}
		return errors.Join(out...)
	}
	ce, ok := err.(*ConfigError)
	if !ok || ce.File != "" || ce.Path == "" {
		return err
	}
	line, ok := s.Line(ce.Path)
	if !ok {
		return err
	}
	placed := *ce
	placed.File, placed.Line = s.File, line
	return &placed
}

// parentPath returns the path that encloses path: a.b[1].c → a.b[1] →
// a.b → a → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// ConfigError is one problem of a configuration: what is wrong with one
// field, and where that field is. Validate's errors are ConfigErrors
// (joined with errors.Join when there are several), and so are package
// config's for a value it cannot read, heed serve's and package jobs' for
// their own sections. Its message is "heed: " followed by the file and
// line when known ("heed: heed.yaml:12: ") and the problem.
type ConfigError struct {
	// Path is the YAML path of the field the problem is about
	// ("upstreams[0].retry.attempts"); "" when it is about none.
	Path string
	// File and Line say where the field, or the nearest enclosing one, is
	// written; "" and 0 for a Config built in code (see Source.Locate).
	File string
	Line int
	// Err is the problem, without "heed: " or the place: the message names
	// the field as a reader knows it (`upstreams[0] "github": retry.attempts
	// 0 out of range [1, 20] (1 means no retry)`).
	Err error
}

// Error returns "heed: file:line: problem", or "heed: problem" when the
// place is not known.
func (e *ConfigError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("heed: %s:%d: %v", e.File, e.Line, e.Err)
	}
	return "heed: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// NewConfigError returns a ConfigError about the field at path, its
// problem formatted as by fmt.Errorf (so %w wraps).
func NewConfigError(path, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Err: fmt.Errorf(format, args...)}
}
