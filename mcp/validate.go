package mcp

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// addTool registers tool with fn as its logic. The tool's input schema
// refuses unknown properties, and the arguments are checked against it
// before fn runs, with an error a model can act on ("/action: must be one
// of ..."), which mcp-go's own validation does not give (it prints Go
// structs).
func addTool[A, R any](srv *server.MCPServer, tool mcpgo.Tool, fn toolFunc[A, R], hints func(error) string) {
	if tool.Title == "" {
		panic("tool " + tool.Name + " has no title") // every tool has one, for clients that show it
	}
	if tool.RawInputSchema == nil && tool.InputSchema.AdditionalProperties == nil {
		tool.InputSchema.AdditionalProperties = false
	}
	v, err := newArgsValidator(tool)
	if err != nil {
		panic(err) // a broken schema is a bug in this package, found by any test
	}
	srv.AddTool(tool, handle(v, fn, hints))
}

// argsValidator checks a tool's arguments against its input schema.
//
// The validation is google/jsonschema-go's (the official MCP SDK's); the
// schema's defaults are checked against it at start.
type argsValidator struct {
	tool string
	root *schemaNode
}

// schemaNode is one schema of a tool's input schema, resolved on its own so
// that a failed validation can be narrowed to the arguments that fail it.
// The library reports the first failure only, and in words that repeat the
// value; a caller is told every failing argument and what it must be,
// never its value (a caller who put a token where a name goes must not get
// it back in an error a model or a log then holds).
type schemaNode struct {
	schema   *jsonschema.Schema
	resolved *jsonschema.Resolved
	props    map[string]*schemaNode
	extra    *schemaNode // additionalProperties, if given
	items    *schemaNode
}

func newArgsValidator(tool mcpgo.Tool) (*argsValidator, error) {
	data, err := json.Marshal(tool)
	if err != nil {
		return nil, fmt.Errorf("tool %s: %w", tool.Name, err)
	}
	var wire struct {
		InputSchema *jsonschema.Schema `json:"inputSchema"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", tool.Name, err)
	}
	if wire.InputSchema == nil {
		return nil, fmt.Errorf("tool %s has no input schema", tool.Name)
	}
	root, err := newSchemaNode(wire.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", tool.Name, err)
	}
	return &argsValidator{tool: tool.Name, root: root}, nil
}

func newSchemaNode(s *jsonschema.Schema) (*schemaNode, error) {
	// Defaults are checked too: a default its own schema refuses is a bug
	// here, found at start.
	r, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return nil, err
	}
	n := &schemaNode{schema: s, resolved: r}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*schemaNode, len(s.Properties))
		for name, ps := range s.Properties {
			if n.props[name], err = newSchemaNode(ps); err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
		}
	}
	if s.AdditionalProperties != nil {
		if n.extra, err = newSchemaNode(s.AdditionalProperties); err != nil {
			return nil, fmt.Errorf("additionalProperties: %w", err)
		}
	}
	if s.Items != nil {
		if n.items, err = newSchemaNode(s.Items); err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
	}
	return n, nil
}

// check validates the arguments as sent (any JSON value; absent is {}).
func (v *argsValidator) check(args any) error {
	if args == nil {
		args = map[string]any{}
	}
	data, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	var inst any
	if err := json.Unmarshal(data, &inst); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	if inst == nil { // a nil map: no arguments
		inst = map[string]any{}
	}
	if v.root.resolved.Validate(inst) == nil {
		return nil
	}
	var msgs []string
	v.root.explain(inst, "", &msgs)
	slices.Sort(msgs)
	return fmt.Errorf("%s arguments: %s (the tool's input schema lists what it takes)", v.tool, strings.Join(slices.Compact(msgs), "; "))
}

// explain appends a "where: what it must be" line for each part of inst, at
// the JSON pointer at, that fails n: the deepest schema that fails, so a
// wrong property is named rather than the whole object. The pointer is
// built from the schema's own property names and item indexes; a key only
// the caller knows is quoted.
func (n *schemaNode) explain(inst any, at string, out *[]string) {
	before := len(*out)
	switch x := inst.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			switch sub, known := n.props[k]; {
			case known:
				if sub.resolved.Validate(x[k]) != nil {
					sub.explain(x[k], at+"/"+k, out)
				}
			case n.extra != nil && n.extra.resolved.Validate(x[k]) != nil:
				*out = append(*out, where(at)+"unknown argument "+strconv.Quote(k))
			}
		}
		for _, r := range n.schema.Required {
			if _, ok := x[r]; !ok {
				*out = append(*out, where(at)+"missing required argument "+strconv.Quote(r))
			}
		}
	case []any:
		if n.items != nil {
			for i, e := range x {
				if n.items.resolved.Validate(e) != nil {
					n.items.explain(e, at+"/"+strconv.Itoa(i), out)
				}
			}
		}
	}
	if len(*out) == before { // nothing below fails: this schema does, as a whole
		*out = append(*out, where(at)+"must be "+describe(n.schema))
	}
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return at + ": "
}

// describe says what a value must be to satisfy s, in the terms of the
// keywords tool schemas use, from the schema alone (never the value).
func describe(s *jsonschema.Schema) string {
	var parts []string
	switch {
	case len(s.Enum) > 0:
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = schemaValue(e)
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	case s.Const != nil:
		parts = append(parts, schemaValue(*s.Const))
	default:
		types := s.Types
		if s.Type != "" {
			types = []string{s.Type}
		}
		if len(types) == 0 {
			parts = append(parts, "a value")
		}
		named := make([]string, len(types))
		for i, t := range types {
			named[i] = typeName(t)
		}
		if len(named) > 0 {
			parts = append(parts, strings.Join(named, " or "))
		}
	}
	if r := numberRange(s); r != "" {
		parts = append(parts, r)
	}
	if s.MinLength != nil {
		parts = append(parts, "of at least "+strconv.Itoa(*s.MinLength)+" characters")
	}
	if s.MaxLength != nil {
		parts = append(parts, "of at most "+strconv.Itoa(*s.MaxLength)+" characters")
	}
	if s.Pattern != "" {
		parts = append(parts, "matching "+strconv.Quote(s.Pattern))
	}
	if s.MinItems != nil {
		parts = append(parts, "of at least "+strconv.Itoa(*s.MinItems)+" items")
	}
	if s.MaxItems != nil {
		parts = append(parts, "of at most "+strconv.Itoa(*s.MaxItems)+" items")
	}
	if s.UniqueItems {
		parts = append(parts, "with no item twice")
	}
	if s.Format != "" {
		parts = append(parts, "in the format "+strconv.Quote(s.Format))
	}
	return strings.Join(parts, " ")
}

func typeName(t string) string {
	switch t {
	case "integer", "object", "array":
		return "an " + t
	case "null":
		return "null"
	default:
		return "a " + t
	}
}

func numberRange(s *jsonschema.Schema) string {
	var lo, hi string
	switch {
	case s.Minimum != nil:
		lo = "at least " + formatNumber(*s.Minimum)
	case s.ExclusiveMinimum != nil:
		lo = "more than " + formatNumber(*s.ExclusiveMinimum)
	}
	switch {
	case s.Maximum != nil:
		hi = "at most " + formatNumber(*s.Maximum)
	case s.ExclusiveMaximum != nil:
		hi = "less than " + formatNumber(*s.ExclusiveMaximum)
	}
	switch {
	case lo != "" && hi != "":
		return lo + " and " + hi
	default:
		return lo + hi
	}
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// schemaValue renders a value from the schema as JSON, as a caller would
// send it.
func schemaValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
