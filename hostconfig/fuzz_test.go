package hostconfig

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// addGoldenSeeds seeds a fuzzer with the `before` files of the golden
// cases for client c.
func addGoldenSeeds(f *testing.F, c Client) {
	paths, _ := filepath.Glob("testdata/merge/" + string(c) + "-*.txtar")
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if b, ok := section(a, "before"); ok {
			f.Add(b)
		}
	}
}

// fuzzMerge checks the merge's contract on any input: it refuses, or it
// returns a document that parses, holds the entry, keeps everything else
// and is a fixed point.
func fuzzMerge(t *testing.T, c Client, src []byte) {
	for _, s := range []Server{
		{Command: "/usr/local/bin/bot-bottle", Args: []string{"serve"}, Home: "/h \"q\""},
		{URL: "http://127.0.0.1:8787/mcp", TokenEnv: TokenEnv},
	} {
		out, err := Merge(c, src, s)
		if err != nil {
			continue
		}
		checkKeptAndHeld(t, c, src, out, s)
		again, err := Merge(c, out, s)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point (err %v):\n%q\n%q", err, out, again)
		}
	}
}

func FuzzMergeClaude(f *testing.F) {
	addGoldenSeeds(f, Claude)
	f.Fuzz(func(t *testing.T, src []byte) { fuzzMerge(t, Claude, src) })
}

func FuzzMergeCodex(f *testing.F) {
	addGoldenSeeds(f, Codex)
	f.Fuzz(func(t *testing.T, src []byte) { fuzzMerge(t, Codex, src) })
}
