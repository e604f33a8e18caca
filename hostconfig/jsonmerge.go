package hostconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// serversKey is the object that holds Claude Code's MCP servers, at the
// top of .mcp.json and of ~/.claude.json alike.
const serversKey = "mcpServers"

// mergeJSON puts entry under mcpServers.bot-bottle in src and returns the
// new document; src unchanged means nothing needed changing. Only the
// bytes of that entry (or of its insertion) change: the rest of the file,
// its other servers, unknown keys, key order and layout stay as they were.
func mergeJSON(src []byte, entry []member) ([]byte, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		var b bytes.Buffer
		b.WriteString("{\n  " + quoteKey(serversKey) + ": {\n    " + quoteKey(ServerName) + ": ")
		b.Write(renderObject(entry, "    ", "  ", false))
		b.WriteString("\n  }\n}\n")
		return b.Bytes(), nil
	}
	if err := checkJSON(src); err != nil {
		return nil, err
	}
	top := scanJSON(src)
	if top.kind != '{' {
		return nil, posErrorf(src, top.start, "the document is %s; a client config is an object", kindName(top.kind))
	}
	st := detectStyle(src, top)
	servers, err := top.find(src, serversKey)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch {
	case servers == nil:
		inner := member{ServerName, renderObject(entry, st.childIndent(src, top)+st.unit, st.unit, st.compact)}
		obj := renderObject([]member{inner}, st.childIndent(src, top), st.unit, st.compact)
		out = insertMember(src, top, serversKey, obj, st)
	case servers.value.kind != '{':
		return nil, posErrorf(src, servers.value.start, "%s is %s, want an object of servers", serversKey, kindName(servers.value.kind))
	default:
		obj := scanValue(src, servers.value.start, true)
		own, err := obj.find(src, ServerName)
		if err != nil {
			return nil, err
		}
		if own == nil {
			indent := st.childIndent(src, obj)
			out = insertMember(src, obj, ServerName, renderObject(entry, indent, st.unit, st.compact), st)
			break
		}
		if own.value.kind != '{' {
			return nil, posErrorf(src, own.value.start, "%s.%s is %s, want an object", serversKey, ServerName, kindName(own.value.kind))
		}
		merged := mergeEntry(src, scanValue(src, own.value.start, true), entry, claudeManaged)
		if sameJSON(src[own.value.start:own.value.end], renderObject(merged, "", "", true)) {
			return src, nil
		}
		val := renderObject(merged, lineIndent(src, own.keyStart), st.unit, st.compact)
		out = slices.Concat(src[:own.value.start], val, src[own.value.end:])
	}
	if err := verifyJSON(src, out, entry); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeEntry keeps the existing entry's keys in their order, replacing the
// managed ones with entry's values (or dropping them when entry has none),
// and appends entry's keys the existing one lacked.
func mergeEntry(src []byte, existing jsonNode, entry []member, managed []string) []member {
	want := map[string]json.RawMessage{}
	for _, m := range entry {
		want[m.key] = m.value
	}
	var out []member
	seen := map[string]bool{}
	for _, m := range existing.members {
		if seen[m.key] {
			continue // a duplicate key inside our own entry: keep the first
		}
		seen[m.key] = true
		switch v, ok := want[m.key]; {
		case ok:
			out = append(out, member{m.key, v})
		case slices.Contains(managed, m.key):
			// ours, and no longer wanted (stdio keys in an HTTP entry)
		default:
			out = append(out, member{m.key, json.RawMessage(src[m.value.start:m.value.end])})
		}
	}
	for _, m := range entry {
		if !seen[m.key] {
			out = append(out, m)
		}
	}
	return out
}

// jsonStyle is how the file is laid out, so inserted text looks like the
// rest: the indent unit, or compact when the file has no line breaks.
type jsonStyle struct {
	unit    string
	compact bool
}

func detectStyle(src []byte, top jsonNode) jsonStyle {
	if len(top.members) > 0 && !bytes.Contains(bytes.TrimSpace(src), []byte("\n")) {
		return jsonStyle{compact: true}
	}
	st := jsonStyle{unit: "  "}
	if len(top.members) > 0 {
		if ind := memberIndent(src, top.members[0].keyStart); ind != "" {
			st.unit = strings.TrimPrefix(ind, lineIndent(src, top.start))
			if st.unit == "" {
				st.unit = ind
			}
		}
	}
	return st
}

// childIndent is the indent of obj's members: its first member's, or one
// unit more than the line obj starts on.
func (st jsonStyle) childIndent(src []byte, obj jsonNode) string {
	if st.compact {
		return ""
	}
	if len(obj.members) > 0 {
		if ind := memberIndent(src, obj.members[0].keyStart); ind != "" {
			return ind
		}
	}
	return lineIndent(src, obj.start) + st.unit
}

// memberIndent is the whitespace before a key that starts its own line,
// or "" when the key shares its line with something before it.
func memberIndent(src []byte, keyStart int) string {
	i := keyStart
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	if i > 0 && src[i-1] != '\n' {
		return ""
	}
	return string(src[i:keyStart])
}

// lineIndent is the leading whitespace of the line holding off.
func lineIndent(src []byte, off int) string {
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	end := start
	for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return string(src[start:end])
}

// insertMember adds "key": value as obj's last member.
func insertMember(src []byte, obj jsonNode, key string, value []byte, st jsonStyle) []byte {
	sep := ": "
	if st.compact {
		sep = ":"
	}
	text := quoteKey(key) + sep + string(value)
	if len(obj.members) == 0 {
		var b strings.Builder
		if st.compact {
			b.WriteString("{" + text + "}")
		} else {
			outer := lineIndent(src, obj.start)
			b.WriteString("{\n" + outer + st.unit + text + "\n" + outer + "}")
		}
		return slices.Concat(src[:obj.start], []byte(b.String()), src[obj.end:])
	}
	last := obj.members[len(obj.members)-1].value.end
	ins := "," + text
	if !st.compact {
		ins = ",\n" + st.childIndent(src, obj) + text
	}
	return slices.Concat(src[:last], []byte(ins), src[last:])
}

// renderObject writes members as an object whose closing brace sits at
// indent, one unit deeper for its members; compact writes it on one line.
func renderObject(members []member, indent, unit string, compact bool) []byte {
	var b bytes.Buffer
	if len(members) == 0 {
		return []byte("{}")
	}
	b.WriteString("{")
	for i, m := range members {
		if i > 0 {
			b.WriteString(",")
		}
		var val bytes.Buffer
		if compact {
			_ = json.Compact(&val, m.value)
			b.WriteString(quoteKey(m.key) + ":")
		} else {
			_ = json.Indent(&val, compactJSON(m.value), indent+unit, unit)
			b.WriteString("\n" + indent + unit + quoteKey(m.key) + ": ")
		}
		b.Write(val.Bytes())
	}
	if !compact {
		b.WriteString("\n" + indent)
	}
	b.WriteString("}")
	return b.Bytes()
}

func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func quoteKey(k string) string {
	b, _ := marshalNoEscape(k)
	return string(b)
}

// decodeJSON decodes keeping numbers exact, for comparisons.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func sameJSON(a, b []byte) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// verifyJSON checks the merge did what it says: out decodes to src's value
// with only mcpServers.bot-bottle changed, and that entry is the old one
// with the managed keys replaced by entry's.
func verifyJSON(src, out []byte, entry []member) error {
	before, err := decodeJSON(src)
	if err != nil {
		return fmt.Errorf("verify merge: %w", err)
	}
	after, err := decodeJSON(out)
	if err != nil {
		return fmt.Errorf("verify merge: the result does not parse (%v); nothing written", err)
	}
	want, _ := before.(map[string]any)
	servers, _ := want[serversKey].(map[string]any)
	if servers == nil {
		servers = map[string]any{}
		want[serversKey] = servers
	}
	own, _ := servers[ServerName].(map[string]any)
	if own == nil {
		own = map[string]any{}
	}
	for _, k := range claudeManaged {
		delete(own, k)
	}
	for _, m := range entry {
		v, err := decodeJSON(m.value)
		if err != nil {
			return fmt.Errorf("verify merge: %w", err)
		}
		own[m.key] = v
	}
	servers[ServerName] = own
	if !reflect.DeepEqual(after, want) {
		return errors.New("verify merge: the result would differ from the file beyond the " + ServerName + " entry; nothing written")
	}
	return nil
}
