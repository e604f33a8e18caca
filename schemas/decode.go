package schemas

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nodeDecoder decodes a yaml.Node tree into Go values strictly, collecting
// every problem with its position instead of stopping at the first.
//
// yaml.v3's own Node.Decode ignores KnownFields, so it cannot be used for
// strict decoding with positions; this walker is the project's one strict
// decoder. It understands exactly the kinds the schemas use: structs (by yaml
// tag), pointers, strings, bools, ints, slices, Names, map[string]string and
// types that parse their own scalar (scalarDecoder: the resource limits).
// Structs may carry `At Location` and `KeyAt map[string]Location` fields
// (tagged yaml:"-"), which it fills with the mapping's and each key's
// position.
type nodeDecoder struct {
	file       string
	lineOffset int // added to node lines: the frontmatter starts below line 1
	errs       Errors
}

var (
	locationType = reflect.TypeOf(Location{})
	namesType    = reflect.TypeOf(Names{})
)

func (d *nodeDecoder) loc(n *yaml.Node) Location {
	return Location{File: d.file, Line: n.Line + d.lineOffset, Col: n.Column}
}

func (d *nodeDecoder) fail(n *yaml.Node, key, msg, hint string) {
	d.errs = append(d.errs, &Error{At: d.loc(n), Key: key, Msg: msg, Hint: hint})
}

// decode fills v (addressable) from n; key is the dotted path used in errors.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.fail(n, key, "YAML anchors and aliases are not supported in bottles", "write the value out")
		return
	}
	if isNull(n) {
		return // unset; callers that need presence look at KeyAt
	}
	switch {
	case v.Type() == namesType:
		d.decodeNames(n, v, key)
		return
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), key)
		v.Set(elem)
		return
	}
	if v.CanAddr() {
		if sd, ok := v.Addr().Interface().(scalarDecoder); ok {
			if n.Kind != yaml.ScalarNode {
				d.fail(n, key, "must be a single value, got "+describe(n), "")
			} else if msg, hint := sd.decodeScalar(n); msg != "" {
				d.fail(n, key, msg, hint)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, key)
	case reflect.Map:
		d.decodeStringMap(n, v, key, nil)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "must be a list, got "+describe(n), "write it as [a, b] or one `- item` per line")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if isNull(item) {
				d.fail(item, fmt.Sprintf("%s[%d]", key, i), "list item is empty", "remove the lone `-` or give it a value")
				continue
			}
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	case reflect.String:
		if s, ok := d.scalar(n, key, "!!str", "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, key, "!!bool", "true or false"); ok {
			v.SetBool(s == "true" || s == "True" || s == "TRUE")
		}
	case reflect.Int:
		if s, ok := d.scalar(n, key, "!!int", "a whole number"); ok {
			i, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				d.fail(n, key, "must be a whole number", "")
				return
			}
			v.SetInt(i)
		}
	default:
		panic(fmt.Sprintf("schemas: nodeDecoder cannot decode into %s", v.Type()))
	}
}

// scalar returns the scalar's text when n is a scalar with the wanted tag.
// It never echoes the value in its error: the value might be a secret pasted
// into the wrong field.
func (d *nodeDecoder) scalar(n *yaml.Node, key, tag, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, key, "must be "+want+", got "+describe(n), "")
		return "", false
	}
	if n.ShortTag() != tag {
		hint := ""
		if tag == "!!str" {
			hint = "quote it to make it a string"
		}
		d.fail(n, key, "must be "+want+", got "+describe(n), hint)
		return "", false
	}
	return n.Value, true
}

func (d *nodeDecoder) decodeNames(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.ScalarNode {
		if s, ok := d.scalar(n, key, "!!str", "a bottle name or a list of names"); ok {
			v.Set(reflect.ValueOf(Names{s}))
		}
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, key, "must be a bottle name or a list of names, got "+describe(n), "")
		return
	}
	out := make(Names, len(n.Content))
	for i, item := range n.Content {
		if s, ok := d.scalar(item, fmt.Sprintf("%s[%d]", key, i), "!!str", "a bottle name"); ok {
			out[i] = s
		}
	}
	v.Set(reflect.ValueOf(out))
}

// decodeStringMap fills a map[string]string or a map of string to struct;
// when keyAt is not nil it also records where each key was written.
func (d *nodeDecoder) decodeStringMap(n *yaml.Node, v reflect.Value, key string, keyAt map[string]Location) {
	elem := v.Type().Elem()
	if v.Type().Key().Kind() != reflect.String || (elem.Kind() != reflect.String && elem.Kind() != reflect.Struct) {
		panic(fmt.Sprintf("schemas: nodeDecoder supports only maps of string to string or struct, not %s", v.Type()))
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "must be a mapping of names to values, got "+describe(n), "")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kname, ok := d.scalar(k, key, "!!str", "a name")
		if !ok {
			continue
		}
		sub := joinKey(key, kname)
		if first, dup := seen[kname]; dup {
			d.fail(k, sub, fmt.Sprintf("key is set twice (first at line %d)", first.Line+d.lineOffset), "")
			continue
		}
		seen[kname] = k
		if keyAt != nil {
			keyAt[kname] = d.loc(k)
		}
		if val.Kind == yaml.AliasNode || val.Anchor != "" {
			d.fail(val, sub, "YAML anchors and aliases are not supported in bottles", "write the value out")
			continue
		}
		if isNull(val) {
			hint := `write "" for an empty string`
			if elem.Kind() == reflect.Struct {
				hint = "give it its keys, or remove it"
			}
			d.fail(val, sub, "has no value", hint)
			continue
		}
		if elem.Kind() == reflect.Struct {
			item := reflect.New(elem).Elem()
			d.decode(val, item, sub)
			m.SetMapIndex(reflect.ValueOf(kname), item)
			continue
		}
		if s, ok := d.scalar(val, sub, "!!str", "a string"); ok {
			m.SetMapIndex(reflect.ValueOf(kname), reflect.ValueOf(s))
		}
	}
	v.Set(m)
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "must be a mapping, got "+describe(n), "")
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
			names = append(names, name)
		}
	}
	if f := v.FieldByName("At"); f.IsValid() && f.Type() == locationType {
		f.Set(reflect.ValueOf(d.loc(n)))
	}
	keyAt := map[string]Location{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kname, ok := d.scalar(k, key, "!!str", "a key name")
		if !ok {
			continue
		}
		sub := joinKey(key, kname)
		if first, dup := seen[kname]; dup {
			d.fail(k, sub, fmt.Sprintf("key is set twice (first at line %d)", first.Line+d.lineOffset), "")
			continue
		}
		seen[kname] = k
		idx, known := fields[kname]
		if !known {
			d.fail(k, sub, "unknown key", didYouMean(kname, names))
			continue
		}
		keyAt[kname] = d.loc(k)
		// A map or list field X may be shadowed by an XAt field that
		// records where each of its keys or items was written.
		if at := v.FieldByName(t.Field(idx).Name + "At"); at.IsValid() && !isNull(val) {
			switch {
			case v.Field(idx).Kind() == reflect.Map:
				positions := map[string]Location{}
				d.decodeStringMap(val, v.Field(idx), sub, positions)
				at.Set(reflect.ValueOf(positions))
				continue
			case v.Field(idx).Kind() == reflect.Slice && val.Kind == yaml.SequenceNode:
				positions := make([]Location, len(val.Content))
				for i, item := range val.Content {
					positions[i] = d.loc(item)
				}
				at.Set(reflect.ValueOf(positions))
			case v.Field(idx).Kind() == reflect.Slice && val.Kind == yaml.ScalarNode: // Names written as one name
				at.Set(reflect.ValueOf([]Location{d.loc(val)}))
			}
		}
		d.decode(val, v.Field(idx), sub)
	}
	if f := v.FieldByName("KeyAt"); f.IsValid() {
		f.Set(reflect.ValueOf(keyAt))
	}
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind for an error message without quoting its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "nothing"
		}
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
	}
	return "an unsupported YAML node"
}

// didYouMean suggests the closest known key to a misspelt one, or lists the
// known keys when none is close.
func didYouMean(got string, known []string) string {
	if best, ok := Closest(got, known); ok {
		return fmt.Sprintf("did you mean %q?", best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return "known keys: " + strings.Join(sorted, ", ")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
