package schemas

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed jsonschema/*.schema.json
var jsonSchemas embed.FS

// JSONSchema returns the embedded JSON Schema called name ("manifest",
// "routes" or "plan").
func JSONSchema(name string) ([]byte, error) {
	b, err := jsonSchemas.ReadFile("jsonschema/" + name + ".schema.json")
	if err != nil {
		return nil, fmt.Errorf("no JSON Schema called %q (have %s)", name, strings.Join(JSONSchemaNames(), ", "))
	}
	return b, nil
}

// JSONSchemaNames lists the embedded schemas.
func JSONSchemaNames() []string {
	entries, _ := jsonSchemas.ReadDir("jsonschema")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".schema.json"))
	}
	sort.Strings(names)
	return names
}
