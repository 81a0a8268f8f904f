package readme

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heedhq/heed/internal/testenv"
)

// readmeName is how failures name the file the blocks come from.
const readmeName = "README.md"

// block is one fenced code block of README.md.
type block struct {
	// Lang is the first word of the fence's info string ("go", "yaml"),
	// "" for a block with none.
	Lang string
	// Line is the line of the opening fence, from 1; the code starts on
	// the next line.
	Line int
	// Code holds the lines between the fences, each ending in "\n".
	Code string
	// Wrap is the snippet annotation on the line before the fence (the
	// text after "snippet: "), or "".
	Wrap string
}

// String names the block for failure messages: README.md:97 (```go).
func (b block) String() string {
	return fmt.Sprintf("%s:%d (```%s)", readmeName, b.Line, b.Lang)
}

// padded returns the block's code after as many empty lines as precede
// it in README.md, so that a tool's line numbers are README.md's.
func (b block) padded() string {
	return strings.Repeat("\n", b.Line) + b.Code
}

var (
	// fenceRE matches a line that opens or closes a fenced block: its
	// fence (three or more backticks or tildes) and info string.
	fenceRE = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")
	// snippetRE matches a snippet annotation.
	snippetRE = regexp.MustCompile(`^<!-- snippet: (.*) -->$`)
)

// parseBlocks returns the fenced blocks of a Markdown text. An annotation
// that is not right before a fence, and a fence that is never closed, are
// errors.
func parseBlocks(text string) ([]block, error) {
	lines := strings.SplitAfter(text, "\n")
	var blocks []block
	wrap, wrapLine := "", 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		if m := snippetRE.FindStringSubmatch(line); m != nil {
			wrap, wrapLine = m[1], i+1
			continue
		}
		m := fenceRE.FindStringSubmatch(line)
		if m == nil {
			if wrap != "" {
				return nil, fmt.Errorf("%s:%d: a snippet annotation must be on the line right before a fence", readmeName, wrapLine)
			}
			continue
		}
		b := block{Lang: firstWord(m[2]), Line: i + 1, Wrap: wrap}
		wrap = ""
		end := closingFence(lines, i+1, m[1])
		if end < 0 {
			return nil, fmt.Errorf("%s: the fence is never closed", b)
		}
		b.Code = strings.Join(lines[i+1:end], "")
		blocks = append(blocks, b)
		i = end
	}
	if wrap != "" {
		return nil, fmt.Errorf("%s:%d: a snippet annotation must be on the line right before a fence", readmeName, wrapLine)
	}
	return blocks, nil
}

// closingFence returns the index of the first line from start that closes
// a block opened by fence: the same character, at least as many, and
// nothing else; -1 when there is none.
func closingFence(lines []string, start int, fence string) int {
	for j := start; j < len(lines); j++ {
		s := strings.TrimSpace(lines[j])
		if strings.HasPrefix(s, fence) && strings.Trim(s, fence[:1]) == "" {
			return j
		}
	}
	return -1
}

// firstWord returns the first word of a fence's info string.
func firstWord(info string) string {
	if f := strings.Fields(info); len(f) > 0 {
		return f[0]
	}
	return ""
}

// checked lists the languages whose blocks a test checks (see doc.go).
var checked = map[string]bool{"go": true, "yaml": true, "python": true, "js": true}

// noRun lists the languages whose blocks are shown, not run: shell
// sessions and commands (a block with no language is one). A block in any
// other language fails TestREADMELanguages, so that a new kind of snippet
// cannot go untested by accident.
var noRun = map[string]bool{"console": true, "sh": true, "": true}

// TestREADMELanguages: every block of README.md is in a language that a
// test checks or that is known to be shown only; only go blocks carry a
// snippet annotation, but for a yaml block's "library" (see
// TestREADMEYAML).
func TestREADMELanguages(t *testing.T) {
	t.Parallel()
	for _, b := range readmeBlocks(t) {
		switch {
		case !checked[b.Lang] && !noRun[b.Lang]:
			t.Errorf("%s: no test knows this language: check it in internal/readme, or add it to noRun if it is a shell session shown, not run", b)
		case b.Wrap != "" && b.Lang != "go" && !(b.Lang == "yaml" && b.Wrap == "library"):
			t.Errorf("%s: a snippet annotation says how a go block is wrapped; this block is not go", b)
		}
	}
}

// TestParseBlocks: fences open and close as Markdown says, annotations
// stick to the next fence, and a stray annotation or an unclosed fence is
// an error.
func TestParseBlocks(t *testing.T) {
	t.Parallel()
	text := "# title\n\n```sh\nls\n```\n\n" +
		"<!-- snippet: func() { ... } -->\n````go title\nx()\n```\n````\n\n" +
		"~~~\nplain\n~~~\n"
	got, err := parseBlocks(text)
	if err != nil {
		t.Fatalf("parseBlocks: %v", err)
	}
	want := []block{
		{Lang: "sh", Line: 3, Code: "ls\n"},
		{Lang: "go", Line: 8, Code: "x()\n```\n", Wrap: "func() { ... }"},
		{Lang: "", Line: 13, Code: "plain\n"},
	}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	for _, bad := range []string{
		"<!-- snippet: func() { ... } -->\n\n```go\nx()\n```\n",
		"```go\nx()\n",
		"text\n<!-- snippet: func() { ... } -->\n",
	} {
		if _, err := parseBlocks(bad); err == nil {
			t.Errorf("parseBlocks(%q): got no error, want one", bad)
		}
	}
}

// moduleRoot returns the module's directory: the test runs in
// internal/readme.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module root: %v", err)
	}
	return root
}

// readmeBlocks returns README.md's fenced blocks.
func readmeBlocks(t *testing.T) []block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), readmeName))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseBlocks(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// blocksIn returns README.md's blocks in lang, failing t when there is
// none: the README promises some, and a test that checks nothing must not
// pass.
func blocksIn(t *testing.T, lang string) []block {
	t.Helper()
	var in []block
	for _, b := range readmeBlocks(t) {
		if b.Lang == lang {
			in = append(in, b)
		}
	}
	if len(in) == 0 {
		t.Fatalf("%s has no ```%s block", readmeName, lang)
	}
	return in
}

// command returns the path of the program name, for the README's blocks
// in a language it checks. When it is missing the test is skipped with a
// message saying so, or fails under ./scripts/test (HEED_REQUIRE_SERVICES=1),
// where every check must run.
func command(t *testing.T, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found, so README.md's blocks it checks are not checked: %s", name, hint)
	if os.Getenv(testenv.RequireEnv) == "1" {
		t.Fatal(msg + " (" + testenv.RequireEnv + "=1: every check must run)")
	}
	t.Skip(msg)
	return ""
}
