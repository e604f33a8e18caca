package hostconfig

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The expression kinds a merge looks at.
const (
	tomlTable      = unstable.Table
	tomlArrayTable = unstable.ArrayTable
	tomlKeyValue   = unstable.KeyValue
)

// tomlExpr is one top-level expression of a TOML document: a table
// header, an array-of-tables header or a key/value line, with the lines
// it covers (a multi-line value included, a trailing comment too).
type tomlExpr struct {
	kind  unstable.Kind
	path  []string // the header's path, or the key's full path (table + key)
	table []string // for a key/value, the table it belongs to
	key   []string // for a key/value, its own (maybe dotted) key
	start int      // start of its first line
	end   int      // just past its last line's newline
}

// checkTOML decodes src, reporting where it is not valid TOML (syntax, or
// a key or table defined twice), and returns its value.
func checkTOML(src []byte) (map[string]any, error) {
	var v map[string]any
	err := toml.Unmarshal(src, &v)
	if err == nil {
		return v, nil
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		return nil, &PosError{Line: line, Col: col, Msg: "not valid TOML: " + de.Error()}
	}
	return nil, fmt.Errorf("not valid TOML: %w", err)
}

// scanTOML lists the document's top-level expressions (comments left out:
// they stay where they are). src must be valid TOML.
func scanTOML(src []byte) ([]tomlExpr, error) {
	p := unstable.Parser{KeepComments: true}
	p.Reset(src)
	var out []tomlExpr
	var table []string
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, first := keyPath(n.Key())
			table = path
			start := lineStart(src, int(first.Raw.Offset))
			out = append(out, tomlExpr{kind: n.Kind, path: path, start: start, end: lineEnd(src, int(first.Raw.Offset))})
		case unstable.KeyValue:
			key, _ := keyPath(n.Key())
			out = append(out, tomlExpr{kind: n.Kind, path: slices.Concat(table, key), table: table, key: key,
				start: lineStart(src, int(n.Raw.Offset)), end: lineEnd(src, int(n.Raw.Offset+n.Raw.Length))})
		}
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}
	return out, nil
}

// keyPath returns a key's parts and its first part's node.
func keyPath(it unstable.Iterator) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	return parts, first
}

func lineStart(src []byte, off int) int {
	return bytes.LastIndexByte(src[:off], '\n') + 1
}

// lineEnd returns the offset just past the newline of the line holding
// off (or the end of the document).
func lineEnd(src []byte, off int) int {
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(src)
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}
