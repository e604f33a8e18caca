package mcp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", TokenFileName)
	tok, created, err := LoadOrCreateToken(path)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("create: %d %v %v", len(tok), created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st, err)
	}
	again, created, err := LoadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Fatalf("second load: created %v err %v same %v", created, err, again == tok)
	}
	other, _, _ := LoadOrCreateToken(filepath.Join(t.TempDir(), TokenFileName))
	if other == tok {
		t.Fatal("two homes got the same token")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), tok) {
		t.Fatalf("a group-readable token file: %v", err)
	}
}

func TestCheckToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		"0123456789abcdef":   true,
		"x9q":                false,
		"0123456789 abcdefg": false,
		"0123456789abcdefé":  false,
		"0123456789abcdef\n": false,
	} {
		if _, err := CheckToken(tok, "test"); (err == nil) != ok {
			t.Errorf("%q: %v", tok, err)
		} else if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}
