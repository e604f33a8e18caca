package mcp

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// testTool has every keyword the tools' input schemas use.
func testTool() mcpgo.Tool {
	t := mcpgo.NewTool("test_tool",
		mcpgo.WithString("name", mcpgo.Required(), mcpgo.MaxLength(8)),
		mcpgo.WithString("status", mcpgo.Enum("open", "closed")),
		mcpgo.WithString("ref", mcpgo.Pattern("^[A-Z_]+$")),
		mcpgo.WithInteger("count", mcpgo.Min(1), mcpgo.Max(10), mcpgo.DefaultNumber(2)),
		mcpgo.WithBoolean("all"),
		mcpgo.WithArray("command", mcpgo.WithStringItems(mcpgo.MaxLength(4)), mcpgo.MaxItems(2)),
		mcpgo.WithObject("route", mcpgo.Properties(map[string]any{
			"host": map[string]any{"type": "string"},
			"auth": map[string]any{
				"type":                 "object",
				"properties":           map[string]any{"token_ref": map[string]any{"type": "string", "pattern": "^[A-Z_]+$"}},
				"required":             []string{"token_ref"},
				"additionalProperties": false,
			},
		}), mcpgo.AdditionalProperties(false)),
	)
	t.InputSchema.AdditionalProperties = false
	return t
}

func TestArgsValidatorNamesEveryFailingArgument(t *testing.T) {
	v, err := newArgsValidator(testTool())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args string
		want []string // each in the message; nil: valid
	}{
		{`{"name":"x"}`, nil},
		{`{"name":"x","status":"open","ref":"A_B","count":10,"all":true,"command":["ab","cd"],"route":{"host":"h","auth":{"token_ref":"T"}}}`, nil},
		{`{}`, []string{`missing required argument "name"`}},
		{`null`, []string{`missing required argument "name"`}},
		{`{"name":7}`, []string{"/name: must be a string of at most 8 characters"}},
		{`{"name":"x","status":"maybe"}`, []string{`/status: must be one of "open", "closed"`}},
		{`{"name":"x","count":0}`, []string{"/count: must be an integer at least 1 and at most 10"}},
		{`{"name":"x","count":1.5}`, []string{"/count: must be an integer"}},
		{`{"name":"x","command":["ab","cd","ef"]}`, []string{"/command: must be an array of at most 2 items"}},
		{`{"name":"x","command":["ab","toolong"]}`, []string{"/command/1: must be a string of at most 4 characters"}},
		{`{"name":"x","route":{"auth":{"token_ref":"ghp_secret"}}}`, []string{`/route/auth/token_ref: must be a string matching "^[A-Z_]+$"`}},
		{`{"name":"x","route":{"auth":{}}}`, []string{`/route/auth: missing required argument "token_ref"`}},
		{`{"name":"x","route":{"hots":"h"}}`, []string{`/route: unknown argument "hots"`}},
		// Every failure is named, not only the first.
		{`{"status":"maybe","count":99,"extra\nline: forged":1}`, []string{
			`missing required argument "name"`, "/status: must be one of", "/count: must be an integer",
			`unknown argument "extra\nline: forged"`,
		}},
		{`"just a string"`, []string{"must be an object"}},
	} {
		var args any
		if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
			t.Fatal(err)
		}
		err := v.check(args)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.args, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.args, err, w)
			}
		}
		checkArgsError(t, tc.args, err.Error())
	}
}

// checkArgsError fails when an argument error carries a control character
// (a caller's key could forge a line a person reads) or repeats a string
// value the caller sent (one that is not also in the schema or a key, which
// the error may name).
func checkArgsError(t *testing.T, args, msg string) {
	t.Helper()
	schema, err := json.Marshal(testTool().InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.IndexFunc(msg, unicode.IsControl); i >= 0 {
		t.Errorf("%s: the error has a control character at %d: %q", args, i, msg)
	}
	var v any
	if json.Unmarshal([]byte(args), &v) != nil {
		return
	}
	var values, keys []string
	collectStrings(v, &values, &keys)
	named := string(schema) + "\x00" + strings.Join(keys, "\x00")
	for _, s := range values {
		if len(s) >= 6 && strings.Contains(msg, s) && !strings.Contains(named, s) {
			t.Errorf("%s: the error repeats the value %q: %q", args, s, msg)
		}
	}
}

// collectStrings gathers the string values and the keys in v.
func collectStrings(v any, values, keys *[]string) {
	switch x := v.(type) {
	case string:
		*values = append(*values, x)
	case []any:
		for _, e := range x {
			collectStrings(e, values, keys)
		}
	case map[string]any:
		for k, e := range x {
			*keys = append(*keys, k)
			collectStrings(e, values, keys)
		}
	}
}

func TestArgsValidatorRefusesABadDefault(t *testing.T) {
	tool := mcpgo.NewTool("bad", mcpgo.WithInteger("n", mcpgo.Min(1), mcpgo.DefaultNumber(0)))
	if _, err := newArgsValidator(tool); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("a default its schema refuses: %v", err)
	}
}

// FuzzArgsValidator checks, for any JSON a caller may send, that the
// validator does not panic and that what it refuses it explains without
// control characters or the caller's values.
func FuzzArgsValidator(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`, `{}`, `null`, `[]`, `{"name":"x","command":["a",1,null]}`,
		`{"name":"x","route":{"auth":{"token_ref":"ghp_secret1"}}}`, `{"a\u0000b":"c"}`,
		`{"name":"x","count":1e308}`, `{"name":{"name":"x"}}`,
	} {
		f.Add(s)
	}
	v, err := newArgsValidator(testTool())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, args string) {
		var a any
		if json.Unmarshal([]byte(args), &a) != nil {
			return
		}
		if err := v.check(a); err != nil {
			checkArgsError(t, args, err.Error())
		}
	})
}
