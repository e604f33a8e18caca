package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// addTool registers tool with fn as its logic. The tool's input schema
// refuses unknown properties, and the arguments are checked against it
// before fn runs, with an error a model can act on ("/action: value must be
// one of ..."), which mcp-go's own validation does not give (it prints Go
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
type argsValidator struct {
	tool   string
	schema *jsonschema.Schema
}

var englishPrinter = message.NewPrinter(language.English)

func newArgsValidator(tool mcpgo.Tool) (*argsValidator, error) {
	data, err := json.Marshal(tool)
	if err != nil {
		return nil, fmt.Errorf("tool %s: %w", tool.Name, err)
	}
	var wire struct {
		InputSchema json.RawMessage `json:"inputSchema"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, fmt.Errorf("tool %s: %w", tool.Name, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(wire.InputSchema))
	if err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", tool.Name, err)
	}
	c := jsonschema.NewCompiler()
	url := "mem:///" + tool.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", tool.Name, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", tool.Name, err)
	}
	return &argsValidator{tool: tool.Name, schema: sch}, nil
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
	if string(data) == "null" { // a nil map: no arguments
		data = []byte("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("arguments: %w", err)
	}
	var msgs []string
	collectLeaves(verr, &msgs)
	slices.Sort(msgs)
	return fmt.Errorf("%s arguments: %s (the tool's input schema lists what it takes)", v.tool, strings.Join(slices.Compact(msgs), "; "))
}

// collectLeaves renders each leaf violation as "where: what".
func collectLeaves(e *jsonschema.ValidationError, out *[]string) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collectLeaves(c, out)
		}
		return
	}
	what := e.ErrorKind.LocalizedString(englishPrinter)
	if len(e.InstanceLocation) == 0 {
		*out = append(*out, what)
		return
	}
	*out = append(*out, "/"+strings.Join(e.InstanceLocation, "/")+": "+what)
}
