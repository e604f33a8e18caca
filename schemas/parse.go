package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxManifestSize bounds a bottle file; anything larger is refused before it
// is parsed.
const MaxManifestSize = 1 << 20

// BottleExtensions are the file name endings a bottle may have, in the order
// the planner looks for them.
var BottleExtensions = []string{".md", ".yaml", ".yml"}

// ParseManifest decodes and validates one bottle file. file is used in error
// positions and to choose the format: ".md" files carry YAML frontmatter,
// ".yaml" and ".yml" files are YAML throughout. Every broken rule is reported
// at once, as Errors.
func ParseManifest(file string, src []byte) (*Manifest, error) {
	if len(src) > MaxManifestSize {
		return nil, Errors{{At: Location{File: file}, Msg: fmt.Sprintf("file is larger than %d bytes", MaxManifestSize)}}
	}
	doc, offset := src, 0
	switch strings.ToLower(filepath.Ext(file)) {
	case ".md", ".markdown":
		fm, first, err := SplitFrontmatter(src)
		if err != nil {
			return nil, Errors{{At: Location{File: file, Line: 1, Col: 1}, Msg: err.Error()}}
		}
		doc, offset = fm, first-1
	case ".yaml", ".yml":
	default:
		return nil, Errors{{At: Location{File: file}, Msg: "a bottle file must end in .md, .yaml or .yml"}}
	}
	root, err := parseYAML(file, doc, offset, "a bottle")
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if root == nil { // empty document: a bottle that allows nothing
		return m, nil
	}
	d := &nodeDecoder{file: file, lineOffset: offset}
	d.decode(root, reflect.ValueOf(m).Elem(), "")
	errs := mergeErrors(d.errs, m.Validate())
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// mergeErrors combines decoding and validation errors in file order. A
// validation error about a key that already failed to decode says nothing
// new (a number where a host belongs is not also "empty") and is dropped.
func mergeErrors(decoding, validation Errors) Errors {
	failed := map[string]bool{}
	for _, e := range decoding {
		failed[e.Key] = true
	}
	out := append(Errors{}, decoding...)
	for _, e := range validation {
		if !failed[e.Key] {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].At, out[j].At
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document into its root node (nil when
// the document is empty) and turns syntax errors into positioned Errors;
// what names the kind of file in errors ("a bottle").
func parseYAML(file string, doc []byte, offset int, what string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Errors{syntaxError(file, doc, offset, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		at := Location{File: file, Line: extra.Line + offset, Col: extra.Column}
		if err != nil {
			return nil, Errors{syntaxError(file, doc, offset, err)}
		}
		return nil, Errors{{At: at, Msg: what + " holds one YAML document; found a second one", Hint: "remove the extra `---`"}}
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	n := root.Content[0]
	if n.Kind != yaml.MappingNode && !isNull(n) {
		return nil, Errors{{At: Location{File: file, Line: n.Line + offset, Col: n.Column}, Msg: what + " must be a YAML mapping (key: value lines), got " + describe(n)}}
	}
	if isNull(n) {
		return nil, nil
	}
	return n, nil
}

// syntaxError positions a yaml.v3 syntax error. yaml.v3 reports only a line,
// so the column is that of the line's first non-blank character.
func syntaxError(file string, doc []byte, offset int, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	col := 1
	if line > 0 {
		lines := bytes.Split(doc, []byte("\n"))
		if line <= len(lines) {
			col = len(lines[line-1]) - len(bytes.TrimLeft(lines[line-1], " \t")) + 1
		}
	} else {
		line = 1
	}
	return &Error{At: Location{File: file, Line: line + offset, Col: col}, Msg: "invalid YAML: " + msg}
}
