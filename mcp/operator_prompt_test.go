package mcp

import (
	"strings"
	"testing"
)

// TestTailBuffer: a headless run's output keeps its end, where the
// agent's answer is, and says when it dropped the start.
func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(8)
	_, _ = b.Write([]byte("abc"))
	if b.String() != "abc" || b.Truncated() {
		t.Fatalf("%q %v", b.String(), b.Truncated())
	}
	_, _ = b.Write([]byte(strings.Repeat("x", 10) + "answer"))
	if b.String() != "xxanswer" || !b.Truncated() {
		t.Fatalf("%q %v", b.String(), b.Truncated())
	}
}
