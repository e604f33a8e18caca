package schemas

import (
	"bytes"
	"fmt"
)

// SplitFrontmatter returns the YAML frontmatter of a Markdown bottle: the
// lines between an opening `---` on the first line and the next line that is
// `---` or `...`. first is the 1-based line on which the YAML starts, so that
// positions inside it can be reported against the whole file. A UTF-8 byte
// order mark and CRLF line ends are accepted. The text after the closing line
// is documentation and is ignored.
func SplitFrontmatter(src []byte) (frontmatter []byte, first int, err error) {
	fm, first, _, _, err := splitFrontmatter(src, "bottle")
	return fm, first, err
}

// splitFrontmatter is SplitFrontmatter that also returns the text after
// the closing line (body) and the line it starts on; what names the kind of
// file in errors ("bottle", "agent", "skill").
func splitFrontmatter(src []byte, what string) (frontmatter []byte, first int, body []byte, bodyLine int, err error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	line, rest, found := cutLine(src)
	if !isFence(line, "---") {
		if len(bytes.TrimSpace(src)) == 0 {
			return nil, 0, nil, 0, fmt.Errorf("the file is empty; a Markdown %s starts with a line `---`, its YAML, and a closing `---`", what)
		}
		return nil, 0, nil, 0, fmt.Errorf("no frontmatter: a Markdown %s must start with a line `---`", what)
	}
	if !found {
		return nil, 0, nil, 0, fmt.Errorf("frontmatter opened on line 1 is never closed (add a line `---` after the YAML)")
	}
	fm := rest
	for n := 2; ; n++ {
		line, next, found := cutLine(rest)
		if isFence(line, "---") || isFence(line, "...") {
			return fm[:len(fm)-len(rest)], 2, next, n + 1, nil
		}
		if !found {
			return nil, 0, nil, 0, fmt.Errorf("frontmatter opened on line 1 is never closed (add a line `---` after the YAML)")
		}
		rest = next
	}
}

// cutLine splits off the first line (without its line end).
func cutLine(b []byte) (line, rest []byte, found bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSuffix(b, []byte("\r")), nil, false
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:], true
}

func isFence(line []byte, fence string) bool {
	return string(bytes.TrimRight(line, " \t")) == fence
}
