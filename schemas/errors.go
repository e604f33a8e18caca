package schemas

import (
	"errors"
	"fmt"
	"strings"
)

// Location is a position in a manifest file. Line and Col are 1-based; a zero
// Line means the position is unknown (the error is about the whole file).
type Location struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the location as file:line:col, dropping the parts that are
// unknown.
func (l Location) String() string {
	file := ShowPath(l.File) // a repository's folder name may carry anything
	switch {
	case l.Line == 0:
		return file
	case l.File == "":
		return fmt.Sprintf("%d:%d", l.Line, l.Col)
	default:
		return fmt.Sprintf("%s:%d:%d", file, l.Line, l.Col)
	}
}

// Error is one broken rule in a manifest or routes file. It prints as
//
//	bottles/x.md:12:5: egress.routes[1].hots: unknown key (did you mean "host"?)
//
// Msg never contains the value of a credential-bearing field: an error message
// may be logged, returned over MCP or shown to an agent.
type Error struct {
	At   Location `json:"at"`
	Key  string   `json:"key,omitempty"`  // dotted path of the key, e.g. egress.routes[1].host
	Msg  string   `json:"msg"`            // what is wrong
	Hint string   `json:"hint,omitempty"` // how to fix it, when there is a likely fix
}

func (e *Error) Error() string {
	var b strings.Builder
	if s := e.At.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every broken rule found in one pass over a file or a chain of
// files. A nil or empty Errors is not an error; use Err to turn it into one.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each Error to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err returns nil when es is empty and es otherwise, so callers can write
// `return errs.Err()` without returning a typed nil.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AsErrors collects the manifest errors inside err (an *Error, an Errors, or
// anything wrapping them). It reports false when err holds none.
func AsErrors(err error) (Errors, bool) {
	var list Errors
	if errors.As(err, &list) {
		return list, true
	}
	var one *Error
	if errors.As(err, &one) {
		return Errors{one}, true
	}
	return nil, false
}
