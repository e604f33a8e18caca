package hostconfig

import (
	"encoding/json"
	"errors"
	"fmt"
)

// jsonNode is a value found in a JSON document: where it starts and ends
// and, for an object, its members. Offsets index the document's bytes, so
// a merge can replace one value and leave every other byte alone.
type jsonNode struct {
	kind       byte // '{', '[', '"', 't', 'f', 'n' (null) or '0' (number)
	start, end int
	members    []jsonMember // objects only, one level deep
}

// jsonMember is one key of an object and its value.
type jsonMember struct {
	key      string
	keyStart int
	value    jsonNode
}

// PosError is a problem at a place in a file: line and column count from
// 1, columns in bytes.
type PosError struct {
	Line, Col int
	Msg       string
}

func (e *PosError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// position turns a byte offset into a line and column.
func position(data []byte, off int) (line, col int) {
	line, col = 1, 1
	for i := 0; i < off && i < len(data); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func posErrorf(data []byte, off int, format string, args ...any) error {
	line, col := position(data, off)
	return &PosError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// checkJSON reports where a document is not valid JSON.
func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > 0 {
			off-- // Offset counts the bad byte as read
		}
		return posErrorf(data, off, "not valid JSON: %s", se.Error())
	}
	if err == nil {
		err = errors.New("not valid JSON")
	}
	return posErrorf(data, len(data), "%s", err.Error())
}

// scanJSON returns the document's top-level value with its members if it
// is an object. data must be valid JSON (checkJSON).
func scanJSON(data []byte) jsonNode {
	return scanValue(data, skipSpace(data, 0), true)
}

// scanValue scans the value at i; with members it also lists an object's
// members (their own values are scanned without members).
func scanValue(data []byte, i int, members bool) jsonNode {
	n := jsonNode{start: i}
	switch c := data[i]; c {
	case '{':
		n.kind = '{'
		j := skipSpace(data, i+1)
		for data[j] != '}' {
			keyEnd := skipString(data, j)
			v := skipSpace(data, skipSpace(data, keyEnd)+1) // past ':'
			val := scanValue(data, v, false)
			if members {
				var key string
				_ = json.Unmarshal(data[j:keyEnd], &key) // valid JSON: always a string
				n.members = append(n.members, jsonMember{key: key, keyStart: j, value: val})
			}
			j = skipSpace(data, val.end)
			if data[j] == ',' {
				j = skipSpace(data, j+1)
			}
		}
		n.end = j + 1
	case '[':
		n.kind = '['
		j := skipSpace(data, i+1)
		for data[j] != ']' {
			j = skipSpace(data, scanValue(data, j, false).end)
			if data[j] == ',' {
				j = skipSpace(data, j+1)
			}
		}
		n.end = j + 1
	case '"':
		n.kind, n.end = '"', skipString(data, i)
	case 't', 'f', 'n':
		n.kind = c
		n.end = i + len("true")
		if c == 'f' {
			n.end = i + len("false")
		}
	default:
		n.kind = '0'
		j := i
		for j < len(data) && isNumberByte(data[j]) {
			j++
		}
		n.end = j
	}
	return n
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skipString returns the offset just past the string that starts at i.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// kindName names a JSON kind for an error message.
func kindName(k byte) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// find returns the member called key, refusing a key given twice: which
// one a client honours is not ours to guess.
func (n jsonNode) find(data []byte, key string) (*jsonMember, error) {
	var found *jsonMember
	for i := range n.members {
		if n.members[i].key != key {
			continue
		}
		if found != nil {
			return nil, posErrorf(data, n.members[i].keyStart, "%q is given twice (first at %s); remove one", key, lineCol(data, found.keyStart))
		}
		found = &n.members[i]
	}
	return found, nil
}

func lineCol(data []byte, off int) string {
	l, c := position(data, off)
	return fmt.Sprintf("%d:%d", l, c)
}
