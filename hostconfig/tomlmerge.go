package hostconfig

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// serversTable is where Codex keeps MCP servers: [mcp_servers.NAME].
const serversTable = "mcp_servers"

// ownPath is bot-bottle's table.
var ownPath = []string{serversTable, ServerName}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// mergeTOML writes the managed lines (and the defaults the table lacks)
// into [mcp_servers.bot-bottle] of src and returns the new document; src
// unchanged means nothing needed changing. The table's managed lines are
// replaced where they stand and everything else (other tables, other keys
// of this one, comments, blank lines, quoting) keeps its bytes; a missing
// table is appended at the end.
func mergeTOML(src []byte, managed, defaults []tomlLine) ([]byte, error) {
	before, err := checkTOML(src)
	if err != nil {
		return nil, err
	}
	exprs, err := scanTOML(src)
	if err != nil {
		return nil, err
	}
	nl := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		nl = "\r\n"
	}
	header, firstOwnKey := -1, -1
	var edits []edit
	have := map[string]bool{}
	for i, e := range exprs {
		if err := refuseForeignShape(src, e); err != nil {
			return nil, err
		}
		switch {
		case e.kind == tomlTable && slices.Equal(e.path, ownPath):
			header = i
		case e.kind == tomlKeyValue && slices.Equal(e.table, ownPath):
			have[e.key[0]] = true
			if slices.Contains(codexManaged, e.key[0]) {
				edits = append(edits, edit{e.start, e.end, ""})
				if firstOwnKey < 0 {
					firstOwnKey = e.start
				}
			}
		case e.kind == tomlTable && hasPrefix(e.path, ownPath) && len(e.path) > len(ownPath):
			// A sub-table of ours: [mcp_servers.bot-bottle.env] is managed
			// (env is rewritten inline), any other is the person's.
			have[e.path[len(ownPath)]] = true
			if slices.Contains(codexManaged, e.path[len(ownPath)]) {
				edits = append(edits, edit{blankLinesBefore(src, e.start), tableEnd(exprs, i), ""})
			}
		}
	}
	lines := slices.Clone(managed)
	for _, d := range defaults {
		if !have[d.key] {
			lines = append(lines, d)
		}
	}
	var block strings.Builder
	for _, l := range lines {
		block.WriteString(l.key + " = " + l.value + nl)
	}
	want, err := wantTOML(before, block.String())
	if err != nil {
		return nil, err
	}
	if header >= 0 && reflect.DeepEqual(want, before) {
		return src, nil
	}
	switch {
	case header < 0:
		var b strings.Builder
		if len(bytes.TrimSpace(src)) > 0 {
			if !bytes.HasSuffix(src, []byte("\n")) {
				b.WriteString(nl)
			}
			b.WriteString(nl)
		}
		b.WriteString("[" + serversTable + "." + ServerName + "]" + nl + block.String())
		edits = append(edits, edit{len(src), len(src), b.String()})
	case firstOwnKey >= 0:
		// where the first managed line stood, so the table keeps its shape
		edits = append(edits, edit{firstOwnKey, firstOwnKey, block.String()})
	default:
		edits = append(edits, edit{exprs[header].end, exprs[header].end, block.String()})
	}
	out := applyEdits(src, edits)
	after, err := checkTOML(out)
	if err != nil {
		return nil, fmt.Errorf("verify merge: the result does not parse (%v); nothing written", err)
	}
	if !reflect.DeepEqual(after, want) {
		return nil, errors.New("verify merge: the result would differ from the file beyond the " + ServerName + " table; nothing written")
	}
	return out, nil
}

// wantTOML is what the document must decode to after the merge: before,
// with bot-bottle's table stripped of its managed keys and given block's.
func wantTOML(before map[string]any, block string) (map[string]any, error) {
	var lines map[string]any
	if err := toml.Unmarshal([]byte(block), &lines); err != nil {
		return nil, fmt.Errorf("render the %s table: %w", ServerName, err)
	}
	want := deepCopy(before)
	if want == nil {
		want = map[string]any{}
	}
	servers, _ := want[serversTable].(map[string]any)
	if servers == nil {
		servers = map[string]any{}
		want[serversTable] = servers
	}
	own, _ := servers[ServerName].(map[string]any)
	if own == nil {
		own = map[string]any{}
	}
	for _, k := range codexManaged {
		delete(own, k)
	}
	for k, v := range lines {
		own[k] = v
	}
	servers[ServerName] = own
	return want, nil
}

// refuseForeignShape refuses the layouts a splice of one table cannot
// handle safely: mcp_servers as an inline table or an array of tables,
// and bot-bottle's server written as dotted keys or an inline table
// outside its own [mcp_servers.bot-bottle] section.
func refuseForeignShape(src []byte, e tomlExpr) error {
	switch {
	case e.kind == tomlArrayTable && hasPrefix(e.path, []string{serversTable}) && len(e.path) <= len(ownPath):
		return posErrorf(src, e.start, "[[%s]] is an array of tables; Codex wants [%s.NAME] tables (edit the file by hand)", strings.Join(e.path, "."), serversTable)
	case e.kind == tomlKeyValue && len(e.path) <= len(ownPath) && slices.Equal(e.path, ownPath[:len(e.path)]):
		return posErrorf(src, e.start, "%s is written inline here; bot-bottle splices only a [%s.%s] table (rewrite it as tables, or edit the file by hand)",
			strings.Join(e.path, "."), serversTable, ServerName)
	case e.kind == tomlKeyValue && hasPrefix(e.path, ownPath) && !hasPrefix(e.table, ownPath):
		return posErrorf(src, e.start, "%s.%s is defined by dotted keys outside its own [%s.%s] table; move it there, or edit the file by hand",
			serversTable, ServerName, serversTable, ServerName)
	}
	return nil
}

// tableEnd is where the table whose header is exprs[i] ends: after its
// last key/value line, so comments and blank lines before the next header
// stay with that header.
func tableEnd(exprs []tomlExpr, i int) int {
	end := exprs[i].end
	for _, e := range exprs[i+1:] {
		if e.kind != tomlKeyValue {
			break
		}
		end = e.end
	}
	return end
}

// blankLinesBefore moves off back over the blank lines before it, so a
// removed table takes its separating blank line with it.
func blankLinesBefore(src []byte, off int) int {
	for off > 0 {
		prev := lineStart(src, off-1)
		if len(bytes.TrimSpace(src[prev:off])) > 0 {
			break
		}
		off = prev
	}
	return off
}

// applyEdits applies non-overlapping edits.
func applyEdits(src []byte, edits []edit) []byte {
	// An insertion sorts before a removal that starts where it does.
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		return edits[i].end < edits[j].end
	})
	var b bytes.Buffer
	at := 0
	for _, e := range edits {
		b.Write(src[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.Write(src[at:])
	return b.Bytes()
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = deepCopy(sub)
		} else {
			out[k] = v
		}
	}
	return out
}
