package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// compileSchema compiles one embedded schema with a real JSON Schema
// implementation.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	raw, err := JSONSchema(name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s schema is not JSON: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	url := "mem://" + name + ".schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s schema: %v", name, err)
	}
	return s
}

// yamlToJSONValue turns YAML text into the generic value a JSON Schema
// validator takes.
func yamlToJSONValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifestSchemaAcceptsValidBottles(t *testing.T) {
	s := compileSchema(t, "manifest")
	files, _ := filepath.Glob("testdata/valid/*")
	for _, f := range files {
		src, _ := os.ReadFile(f)
		if strings.HasSuffix(f, ".md") {
			fm, _, err := SplitFrontmatter(src)
			if err != nil {
				t.Fatal(err)
			}
			src = fm
		}
		if err := s.Validate(yamlToJSONValue(t, src)); err != nil {
			t.Errorf("%s: schema refuses a valid bottle: %v", f, err)
		}
	}
}

// The schema cannot express every rule (IP-like last labels, for one), but
// it must refuse the structural mistakes an editor should flag.
func TestManifestSchemaRefusesStructuralMistakes(t *testing.T) {
	s := compileSchema(t, "manifest")
	for _, name := range []string{"unknown-key-hint.md", "unknown-top-level-key.md", "auth-empty.yaml", "auth-half-scheme.yaml",
		"auth-half-token-ref.yaml", "auth-bad-scheme.yaml", "auth-token-value-smuggled.yaml", "auth-token-key-smuggled.yaml",
		"passthrough-with-auth.yaml", "passthrough-with-paths-and-methods.yaml", "methods-bad.yaml", "paths-not-list.yaml",
		"port-range.yaml", "template-unknown.yaml", "auth-token-not-a-name.yaml", "host-wildcard.yaml", "host-scheme.yaml",
		"host-port.yaml", "host-path.yaml", "host-empty.yaml", "host-missing.yaml", "extends-bad-name.yaml", "command-empty.yaml",
		"env-bad-name-and-value.yaml", "workdir-unknown-key.yaml", "workdir-outside.yaml", "workdir-not-protected.yaml",
		"workdir-not-list.yaml", "workdir-not-mapping.yaml", "websocket-with-passthrough.yaml", "websocket-without-auth.yaml",
		"websocket-not-bool.yaml", "resources-types.yaml", "resources-ranges.yaml", "resources-unknown-key.yaml",
		"resources-not-mapping.yaml", "resources-negative.yaml", "runtime-unknown.yaml", "runtime-empty.yaml", "runtime-list.yaml"} {
		src, err := os.ReadFile("testdata/invalid/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".md") {
			src, _, _ = SplitFrontmatter(src)
		}
		if err := s.Validate(yamlToJSONValue(t, src)); err == nil {
			t.Errorf("%s: schema accepts an invalid bottle", name)
		}
	}
}

// schemaProps returns the property names of the object schema at path (a
// list of property names and "items" / "$defs" steps).
func schemaProps(t *testing.T, name string, path ...string) []string {
	t.Helper()
	raw, _ := JSONSchema(name)
	var node map[string]any
	if err := json.Unmarshal(raw, &node); err != nil {
		t.Fatal(err)
	}
	for _, step := range path {
		next, ok := node[step].(map[string]any)
		if !ok {
			props, _ := node["properties"].(map[string]any)
			next, ok = props[step].(map[string]any)
		}
		if !ok {
			t.Fatalf("%s schema: no %q along %v", name, step, path)
		}
		node = next
	}
	props, _ := node["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tagNames lists a struct's field names under a tag (yaml or json).
func tagNames(v any, tag string) []string {
	t := reflect.TypeOf(v)
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get(tag), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestSchemasMatchGoTypes keeps the embedded schemas and the Go types in
// step: a key added to one and not the other fails here.
func TestSchemasMatchGoTypes(t *testing.T) {
	cases := []struct {
		schema string
		path   []string
		typ    any
		tag    string
	}{
		{"manifest", nil, Manifest{}, "yaml"},
		{"manifest", []string{"agent_provider"}, AgentProvider{}, "yaml"},
		{"manifest", []string{"egress"}, Egress{}, "yaml"},
		{"manifest", []string{"workdir"}, Workdir{}, "yaml"},
		{"manifest", []string{"$defs", "route"}, Route{}, "yaml"},
		{"manifest", []string{"$defs", "route", "auth"}, Auth{}, "yaml"},
		{"manifest", []string{"resources"}, Resources{}, "yaml"},
		{"manifest", []string{"git-gate"}, GitGate{}, "yaml"},
		{"manifest", []string{"git-gate", "user"}, GitUser{}, "yaml"},
		{"manifest", []string{"$defs", "gitRepo"}, GitRepo{}, "yaml"},
		{"manifest", []string{"$defs", "gitRepo", "auth"}, GitAuth{}, "yaml"},
		{"routes", nil, RoutesFile{}, "yaml"},
		{"routes", []string{"routes", "items"}, RouteRule{}, "yaml"},
		{"routes", []string{"routes", "items", "auth"}, SlotAuth{}, "yaml"},
		{"plan", nil, Plan{}, "json"},
		{"plan", []string{"provider"}, ProviderPlan{}, "json"},
		{"plan", []string{"routes", "items"}, PlannedRoute{}, "json"},
		{"plan", []string{"routes", "items", "auth"}, PlannedAuth{}, "json"},
		{"plan", []string{"replaced", "items"}, ReplacedRoute{}, "json"},
		{"plan", []string{"slots", "items"}, TokenSlot{}, "json"},
		{"plan", []string{"env", "items"}, EnvVar{}, "json"},
		{"plan", []string{"files", "items"}, AgentFile{}, "json"},
		{"plan", []string{"workdir"}, WorkdirPlan{}, "json"},
		{"plan", []string{"git_gate"}, GitGatePlan{}, "json"},
		{"plan", []string{"git_gate", "user"}, GitUserPlan{}, "json"},
		{"plan", []string{"git_gate", "repos", "items"}, GitRepoPlan{}, "json"},
		{"plan", []string{"git_gate", "repos", "items", "auth"}, GitAuthPlan{}, "json"},
		{"plan", []string{"workdir", "protected", "items"}, ProtectedPlan{}, "json"},
		{"plan", []string{"workdir", "writable", "items"}, WritablePlan{}, "json"},
		{"plan", []string{"agent"}, AgentPlan{}, "json"},
		{"plan", []string{"agent", "prompt"}, PromptPlan{}, "json"},
		{"plan", []string{"agent", "skills", "items"}, SkillPlan{}, "json"},
		{"plan", []string{"agent", "git_user"}, GitUserPlan{}, "json"},
		{"plan", []string{"resources"}, PlannedResources{}, "json"},
	}
	for _, c := range cases {
		got, want := schemaProps(t, c.schema, c.path...), tagNames(c.typ, c.tag)
		if !slices.Equal(got, want) {
			t.Errorf("%s schema %v has %v; Go type %T has %v", c.schema, c.path, got, c.typ, want)
		}
	}
}

func TestJSONSchemaNames(t *testing.T) {
	if got := JSONSchemaNames(); !slices.Equal(got, []string{"manifest", "plan", "routes"}) {
		t.Fatal(got)
	}
	if _, err := JSONSchema("nope"); err == nil || !strings.Contains(err.Error(), "manifest, plan, routes") {
		t.Fatal(err)
	}
}

// TestManifestSchemaProtectedPaths keeps the schema's list of protected
// paths equal to ProtectedPaths, each with and without a trailing /.
func TestManifestSchemaProtectedPaths(t *testing.T) {
	raw, _ := JSONSchema("manifest")
	var doc struct {
		Defs struct {
			ProtectedPath struct {
				Enum []string `json:"enum"`
			} `json:"protectedPath"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := ProtectedNames()
	for _, n := range ProtectedNames() {
		want = append(want, n+"/")
	}
	if got := doc.Defs.ProtectedPath.Enum; !slices.Equal(got, want) {
		t.Errorf("manifest schema protectedPath enum is %v; ProtectedPaths gives %v", got, want)
	}
}
