package planner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/schemas"
	"gopkg.in/yaml.v3"
)

// Edit is a change to a bottle file: its content before and after, and a
// unified diff for the person who approved it.
type Edit struct {
	Path   string `json:"path"`
	Before []byte `json:"-"`
	After  []byte `json:"-"`
	Diff   string `json:"diff"`
}

// Write replaces the file with the edited content, atomically, keeping its
// mode.
func (e *Edit) Write() error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(e.Path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(e.Path, e.After, mode)
}

// PersistRoute edits the bottle called name in the home so that it has
// route (in manifest form: credentials by token_ref) as a route: a new route is appended to egress.routes, an existing route for
// the same host and port in that file is replaced. Everything else in the
// file (comments, order, blank lines, the Markdown after the frontmatter) is
// kept byte for byte: the edit is a splice of the route's lines, not a
// re-encoding of the file. note becomes a comment above the route. The
// result is parsed again before it is returned, so a persisted route can
// never leave a bottle that does not load.
func (p *Planner) PersistRoute(name string, rule schemas.Route, note string) (*Edit, error) {
	path, err := findBottle(BottlesDir(p.Home), name)
	if err != nil {
		return nil, err
	}
	rule.Host = schemas.NormalizeHost(rule.Host)
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("persist route into %s: %w", path, err)
	}
	after, err := spliceRoute(path, src, rule, note)
	if err != nil {
		return nil, fmt.Errorf("persist route into %s: %w", path, err)
	}
	if _, err := schemas.ParseManifest(path, after); err != nil {
		return nil, fmt.Errorf("persist route into %s: the edited bottle would not load: %w", path, err)
	}
	return &Edit{Path: path, Before: src, After: after, Diff: unifiedDiff(filepath.Base(path), src, after)}, nil
}

// spliceRoute returns src with rule written into its egress.routes.
func spliceRoute(path string, src []byte, rule schemas.Route, note string) ([]byte, error) {
	lines := splitLines(src)
	docStart, docEnd := 0, len(lines) // the YAML's lines, [docStart, docEnd)
	if strings.EqualFold(filepath.Ext(path), ".md") {
		fm, first, err := schemas.SplitFrontmatter(src)
		if err != nil {
			return nil, err
		}
		docStart = first - 1
		docEnd = docStart + len(splitLines(fm))
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(strings.Join(lines[docStart:docEnd], "")), &root); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var top *yaml.Node
	if len(root.Content) > 0 && root.Content[0].Kind == yaml.MappingNode {
		top = root.Content[0]
	}
	at := func(n *yaml.Node) int { return docStart + n.Line - 1 } // 0-based line in lines
	egressKey, egress := mappingValue(top, "egress")
	switch {
	case egress == nil || isEmptyNode(egress):
		block := "egress:\n  routes:\n" + renderRouteItem(rule, "    ", note)
		if egressKey != nil { // `egress:` with no value: replace that line
			return join(lines[:at(egressKey)], block, lines[at(egressKey)+1:]), nil
		}
		return join(lines[:docEnd], ensureNewline(lines, docEnd)+block, lines[docEnd:]), nil
	case egress.Kind != yaml.MappingNode || egress.Style&yaml.FlowStyle != 0:
		return nil, fmt.Errorf("line %d: egress is written in flow style; write it as a block (one key per line) so it can be edited in place", egress.Line)
	}
	routesKey, routes := mappingValue(egress, "routes")
	indent := strings.Repeat(" ", egress.Content[0].Column-1)
	switch {
	case routes == nil || isEmptyNode(routes):
		block := indent + "routes:\n" + renderRouteItem(rule, indent+"  ", note)
		if routesKey != nil {
			return join(lines[:at(routesKey)], block, lines[at(routesKey)+1:]), nil
		}
		end := nodeEnd(lines, egress, docEnd, at)
		return join(lines[:end], block, lines[end:]), nil
	case routes.Kind != yaml.SequenceNode || routes.Style&yaml.FlowStyle != 0:
		return nil, fmt.Errorf("line %d: egress.routes is written in flow style; write one `- host: ...` item per line so it can be edited in place", routes.Line)
	}
	// Items are written as "<indent>- key: ...": take the indent from the
	// first item's line as written.
	first := lines[at(routes.Content[0])]
	itemIndent := first[:len(first)-len(strings.TrimLeft(first, " "))]
	// Replace the item for the same host and port, if this file has one.
	for i, item := range routes.Content {
		if !sameRoute(item, rule) {
			continue
		}
		start := commentStart(lines, at(item), docStart)
		end := docEnd
		if i+1 < len(routes.Content) {
			end = commentStart(lines, at(routes.Content[i+1]), docStart)
		} else {
			end = nodeEnd(lines, routes, docEnd, at)
		}
		return join(lines[:start], renderRouteItem(rule, itemIndent, note), lines[end:]), nil
	}
	end := nodeEnd(lines, routes, docEnd, at)
	return join(lines[:end], renderRouteItem(rule, itemIndent, note), lines[end:]), nil
}

// renderRouteItem writes rule as one block sequence item at indent.
func renderRouteItem(rule schemas.Route, indent, note string) string {
	var b strings.Builder
	if note = strings.Join(strings.Fields(note), " "); note != "" {
		fmt.Fprintf(&b, "%s# %s\n", indent, note)
	}
	fmt.Fprintf(&b, "%s- host: %s\n", indent, rule.Host)
	field := indent + "  "
	if rule.Port != 0 {
		fmt.Fprintf(&b, "%sport: %d\n", field, rule.Port)
	}
	if len(rule.PathAllowlist) > 0 {
		fmt.Fprintf(&b, "%spath_allowlist: [%s]\n", field, flowList(rule.PathAllowlist))
	}
	if len(rule.Methods) > 0 {
		fmt.Fprintf(&b, "%smethods: [%s]\n", field, flowList(rule.Methods))
	}
	if rule.Auth != nil {
		fmt.Fprintf(&b, "%sauth: { scheme: %s, token_ref: %s }\n", field, rule.Auth.Scheme, rule.Auth.TokenRef)
	}
	if rule.TLSPassthrough {
		fmt.Fprintf(&b, "%stls_passthrough: true\n", field)
	}
	if rule.WebSocket {
		fmt.Fprintf(&b, "%swebsocket: true\n", field)
	}
	return b.String()
}

var plainScalarRe = regexp.MustCompile(`^[A-Za-z0-9/._~+-]+$`)

// flowList renders strings for a flow sequence, quoting any that YAML might
// read otherwise (a JSON string is a valid YAML double-quoted scalar).
func flowList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		if plainScalarRe.MatchString(s) {
			out[i] = s
		} else {
			out[i] = strconv.Quote(s)
		}
	}
	return strings.Join(out, ", ")
}

func sameRoute(item *yaml.Node, rule schemas.Route) bool {
	_, h := mappingValue(item, "host")
	if h == nil || schemas.NormalizeHost(h.Value) != rule.Host {
		return false
	}
	_, p := mappingValue(item, "port")
	port := 0
	if p != nil {
		port, _ = strconv.Atoi(p.Value)
	}
	return port == rule.Port
}

// mappingValue returns the key and value nodes for key in a mapping node.
func mappingValue(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// isEmptyNode reports whether n is null, {} or []: a value written on its
// key's line that an edit may replace with a block.
func isEmptyNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" ||
		(n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && len(n.Content) == 0
}

// nodeEnd returns the line index just after the block node n: the first
// following line, within the document, that is indented at or left of n's
// parent key (or the end of the document), with trailing blank and comment
// lines left outside.
func nodeEnd(lines []string, n *yaml.Node, docEnd int, at func(*yaml.Node) int) int {
	col := n.Column - 1 // 0-based indentation of the node's first key
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		first := lines[at(n.Content[0])]
		col = len(first) - len(strings.TrimLeft(first, " ")) // where the items' "-" stands
	}
	last := at(n)
	for i := at(n) + 1; i < docEnd; i++ {
		trimmed := strings.TrimSpace(lines[i])
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		ind := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		if ind < col || (ind == col && n.Kind == yaml.SequenceNode && !strings.HasPrefix(trimmed, "-")) {
			break
		}
		last = i
	}
	return last + 1
}

// commentStart moves a line index up over the comment lines directly above
// it, so a replaced item takes its comments with it.
func commentStart(lines []string, i, docStart int) int {
	for i > docStart && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
		i--
	}
	return i
}

func ensureNewline(lines []string, end int) string {
	if end > 0 && !strings.HasSuffix(lines[end-1], "\n") {
		return "\n"
	}
	return ""
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	parts := bytes.SplitAfter(b, []byte("\n"))
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if len(p) > 0 {
			out = append(out, string(p))
		}
	}
	return out
}

func join(before []string, middle string, after []string) []byte {
	var b bytes.Buffer
	for _, l := range before {
		b.WriteString(l)
	}
	b.WriteString(middle)
	for _, l := range after {
		b.WriteString(l)
	}
	return b.Bytes()
}
