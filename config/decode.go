package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/heedhq/heed"
)

// Decode parses data, one YAML document, into v, which must be a non-nil
// pointer to a struct, and returns where each value was read from; name (a
// file name, "config" when empty) starts every error message, followed by
// the line. Keys are the yaml tags of v's fields and of their fields, and
// those of a struct field tagged `yaml:",inline"` are read as its parent's
// (as serve.Config reads heed.Config's); fields tagged "-", untagged or
// unexported are never read. An unknown or repeated key is an error, with
// a suggestion when a key is one typo away from a known one. Durations are
// Go duration strings such as "250ms" or "1h"; a bool takes only true or
// false, an integer only an integer. YAML anchors, aliases and merge keys
// ("<<") work, within a bound on how far aliases expand. A value that is
// exactly ${NAME} (NAME as in a shell: [A-Za-z_][A-Za-z0-9_]*), quoted or
// not, decoded into a string field, is replaced by the environment
// variable NAME, so that secrets (tokens, fingerprint_secret, store URLs
// with a password) need not sit in the file; NAME unset or empty is an
// error at its line that names NAME, never a value. Any other string is
// taken literally ("${A}${B}", "x${A}" and "$A" are not references, and
// there is no escape: no value can be the literal text ${NAME}). Every
// problem with a key or a value is reported, each a *heed.ConfigError,
// joined with errors.Join; data that is not one YAML document is one
// error.
//
// Decode neither fills defaults nor validates: v says exactly what the
// file says, and fields the file leaves out keep their values. On error, v
// may have been partly filled. Decode reads the environment with
// os.LookupEnv; DecodeOptions.Decode takes another.
func Decode(data []byte, name string, v any) (*heed.Source, error) {
	return DecodeOptions{}.Decode(data, name, v)
}

// DecodeOptions adjust Decode. The zero value is Decode's behaviour.
type DecodeOptions struct {
	// LookupEnv returns the environment variable that a ${NAME} value
	// names, and whether it is set; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
}

// Decode is the package's Decode with o's options.
func (o DecodeOptions) Decode(data []byte, name string, v any) (*heed.Source, error) {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if name == "" {
		name = "config"
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: Decode: want a non-nil pointer to a struct, got %T", v)
	}
	root, err := parseDocument(data, name)
	if err != nil {
		return nil, err
	}
	d := decoder{file: name, lines: make(map[string]int), env: o.LookupEnv}
	d.value(root, rv.Elem(), "")
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return &heed.Source{File: name, Lines: d.lines}, nil
}

// parseDocument parses data, which must hold exactly one YAML document
// that is not empty, and returns its root node.
func parseDocument(data []byte, name string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("heed: %s: empty config file", name)
		}
		return nil, newSyntaxError(name, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, newSyntaxError(name, err)
		}
		return nil, fmt.Errorf("heed: %s:%d: want one YAML document, found another", name, next.Line)
	}
	if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		return nil, fmt.Errorf("heed: %s: empty config file", name)
	}
	return doc.Content[0], nil
}

// syntaxError is a YAML syntax error restated as "file:line: problem".
type syntaxError struct {
	msg string
	err error // the parser's error
}

func (e *syntaxError) Error() string { return e.msg }
func (e *syntaxError) Unwrap() error { return e.err }

// newSyntaxError restates a parser error, "yaml: line N: problem", as
// "heed: name:N: problem".
func newSyntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		line, problem, found := strings.Cut(rest, ": ")
		if _, bad := strconv.Atoi(line); found && bad == nil {
			return &syntaxError{msg: fmt.Sprintf("heed: %s:%s: %s", name, line, problem), err: err}
		}
	}
	return &syntaxError{msg: fmt.Sprintf("heed: %s: %s", name, msg), err: err}
}

// decoder fills a struct from a YAML node tree, collecting every problem.
type decoder struct {
	file    string
	errs    []error
	lines   map[string]int     // the line of each value decoded, by path
	merging map[*yaml.Node]int // mappings merging others now, against cycles
	visits  int                // nodes decoded, aliases expanded
	env     func(string) (string, bool)
}

// maxVisits bounds the nodes decoded, so that aliases of aliases cannot
// make a small file expand exponentially; real configurations are far
// smaller.
const maxVisits = 100_000

// failf records a problem about the value at path, written at node n.
func (d *decoder) failf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &heed.ConfigError{Path: path, File: d.file, Line: n.Line, Err: fmt.Errorf(format, args...)})
}

// value decodes n into v; path names v in errors ("upstreams[0].retry").
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if path != "" {
		if _, seen := d.lines[path]; !seen { // a merge's later keys win, but the first line written is kept
			d.lines[path] = n.Line
		}
	}
	if d.visits++; d.visits == maxVisits {
		d.failf(n, path, "%s: the document expands to too many values (through aliases)", orTop(path))
	}
	switch {
	case d.visits >= maxVisits, isNull(n), v.Type() == reflect.TypeFor[ignored]():
		return
	case v.Type() == reflect.TypeFor[time.Duration]():
		d.duration(n, v, path)
	case reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		d.text(n, v, path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.value(n, elem.Elem(), path)
		v.Set(elem)
	default:
		d.scalar(n, v, path)
	}
}

// mapping decodes a mapping into the struct v: merged mappings first, then
// the keys written here, which win.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.mismatch(n, path, "a mapping")
		return
	}
	d.merges(n, v, path)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := resolve(n.Content[i]), n.Content[i+1]
		if key.ShortTag() == "!!merge" || !d.newKey(key, path, seen) {
			continue
		}
		field, ok := fieldByKey(v.Type(), key.Value)
		if !ok {
			d.unknownKey(key, v.Type(), path)
			continue
		}
		d.value(val, v.FieldByIndex(field), joinPath(path, key.Value))
	}
}

// merges decodes the mappings merged into n with "<<", the later ones first
// so that earlier ones win, as YAML's merge key specifies.
func (d *decoder) merges(n *yaml.Node, v reflect.Value, path string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if key.ShortTag() != "!!merge" {
			continue
		}
		src := resolve(n.Content[i+1])
		if src.Kind != yaml.SequenceNode {
			d.merge(n, key, src, v, path)
			continue
		}
		for j := len(src.Content) - 1; j >= 0; j-- {
			d.merge(n, key, src.Content[j], v, path)
		}
	}
}

// merge decodes src, merged by key into the mapping into. A mapping that
// merges itself, directly or through others, is an error.
func (d *decoder) merge(into, key, src *yaml.Node, v reflect.Value, path string) {
	src = resolve(src)
	if src == into || d.merging[src] > 0 {
		d.failf(key, path, "%s: a mapping merges itself", orTop(path))
		return
	}
	if d.merging == nil {
		d.merging = make(map[*yaml.Node]int)
	}
	d.merging[into]++
	d.value(src, v, path)
	d.merging[into]--
}

// newKey checks that key is a plain name not seen before in its mapping.
func (d *decoder) newKey(key *yaml.Node, path string, seen map[string]bool) bool {
	if key.Kind != yaml.ScalarNode {
		d.failf(key, path, "%s: want a key name, got %s", orTop(path), describe(key))
		return false
	}
	if seen[key.Value] {
		d.failf(key, joinPath(path, key.Value), "duplicate key %q %s", key.Value, where(path))
		return false
	}
	seen[key.Value] = true
	return true
}

// unknownKey reports a key that t has no field for, suggesting a close one.
func (d *decoder) unknownKey(key *yaml.Node, t reflect.Type, path string) {
	hint := ""
	if near, ok := nearestKey(t, key.Value); ok {
		hint = fmt.Sprintf(" (did you mean %q?)", near)
	}
	d.failf(key, joinPath(path, key.Value), "unknown key %q %s%s", key.Value, where(path), hint)
}

// sequence decodes a sequence into the slice v.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.mismatch(n, path, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// duration decodes a Go duration string into v.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(n, path, "a duration")
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.failf(n, path, "%s: invalid duration %s: want a Go duration such as \"250ms\", \"5s\" or \"1h\"%s", path, describe(n), envHint(n))
		return
	}
	v.SetInt(int64(dur))
}

// text decodes a scalar into v, a value whose pointer reads itself from
// text (heed.ByteSize).
func (d *decoder) text(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(n, path, "a scalar")
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
		d.failf(n, path, "%s: %v", orTop(path), err)
	}
}

// scalar decodes a string, bool, integer or float into v. Any scalar makes
// a string, but only true or false a bool, only an integer an integer (yaml
// would truncate 1.5) and only a number a float. A string that is an
// environment reference takes the variable's value.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if name, ok := envRef(n); ok && v.Kind() == reflect.String {
		d.fromEnv(n, v, path, name)
		return
	}
	if n.Kind != yaml.ScalarNode || !tagFits(n.ShortTag(), v.Kind()) || n.Decode(v.Addr().Interface()) != nil {
		d.mismatch(n, path, kindName(v.Kind()))
	}
}

// envRefPattern is an environment reference: ${NAME}, the whole value.
var envRefPattern = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// envRef returns the variable a scalar refers to, when it is exactly
// ${NAME}.
func envRef(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	m := envRefPattern.FindStringSubmatch(n.Value)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// fromEnv sets the string v to the environment variable name; unset or
// empty is an error naming the variable.
func (d *decoder) fromEnv(n *yaml.Node, v reflect.Value, path, name string) {
	val, ok := d.env(name)
	switch {
	case !ok:
		d.failf(n, path, "%s: environment variable %s is not set", path, name)
	case val == "":
		d.failf(n, path, "%s: environment variable %s is empty", path, name)
	default:
		v.SetString(val)
	}
}

// tagFits reports whether a scalar with the resolved tag may be decoded
// into a value of kind k.
func tagFits(tag string, k reflect.Kind) bool {
	switch k {
	case reflect.Bool:
		return tag == "!!bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return tag == "!!int"
	case reflect.Float32, reflect.Float64:
		return tag == "!!int" || tag == "!!float"
	default:
		return true
	}
}

// mismatch reports a value of the wrong type.
func (d *decoder) mismatch(n *yaml.Node, path, want string) {
	d.failf(n, path, "%s: want %s, got %s%s", orTop(path), want, describe(n), envHint(n))
}

// envHint explains, for an environment reference where a string cannot
// go, why it was not replaced.
func envHint(n *yaml.Node) string {
	if _, ok := envRef(n); ok {
		return " (an environment reference ${NAME} is read only into a string field)"
	}
	return ""
}

// kindName describes what a value of kind k looks like in YAML.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a string"
	}
}

// describe names what n is, quoting (at most 40 bytes of) a scalar.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	s := n.Value
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// isNull reports whether n is YAML's null ("~", "null" or nothing).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// joinPath names a field below path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// where says where a key was found, for messages.
func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}

// orTop names path for messages, the root being "top level".
func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// fieldByKey returns the index (as reflect.Value.FieldByIndex takes it)
// of the field of struct type t read from key: one of t's own, or one of a
// struct field of t tagged inline, t's own winning.
func fieldByKey(t reflect.Type, key string) ([]int, bool) {
	for _, f := range fieldKeys(t) {
		if f.key == key {
			return f.index, true
		}
	}
	return nil, false
}

// fieldKey is a key a struct type reads and the index of its field.
type fieldKey struct {
	key   string
	index []int
}

// fieldKeys lists the keys struct type t reads, its own fields' first and
// then those of its inline struct fields, in the order they are declared.
func fieldKeys(t reflect.Type) []fieldKey {
	var own, inline []fieldKey
	for i := range t.NumField() {
		f := t.Field(i)
		key, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported():
		case key == "" && opts == "inline" && f.Type.Kind() == reflect.Struct:
			for _, k := range fieldKeys(f.Type) {
				inline = append(inline, fieldKey{key: k.key, index: append([]int{i}, k.index...)})
			}
		case key != "" && key != "-":
			own = append(own, fieldKey{key: key, index: []int{i}})
		}
	}
	return append(own, inline...)
}

// nearestKey returns the key of struct type t closest to key, when it is
// close enough to be a typo: one edit, or two in a key of six bytes or more.
func nearestKey(t reflect.Type, key string) (string, bool) {
	best, bestDist := "", 2
	if len(key) >= 6 {
		bestDist = 3
	}
	for _, f := range fieldKeys(t) {
		if dist := editDistance(key, f.key); dist < bestDist {
			best, bestDist = f.key, dist
		}
	}
	return best, best != ""
}

// editDistance returns the optimal string alignment distance between a and
// b, in bytes: insertions, deletions, substitutions and swaps of adjacent
// bytes each count one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j-1]+cost, d[i-1][j]+1, d[i][j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
