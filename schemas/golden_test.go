package schemas

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// TestInvalidManifestsGolden parses every file under testdata/invalid and
// compares the complete error text with the .err file beside it. Run
// `go test ./schemas -run Golden -update` after an intended change, then read
// the diff.
func TestInvalidManifestsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".err") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(f, src)
			if err == nil {
				t.Fatalf("ParseManifest accepted an invalid bottle: %+v", m)
			}
			if _, ok := AsErrors(err); !ok {
				t.Fatalf("error is not a positioned manifest error: %T %v", err, err)
			}
			got := err.Error() + "\n"
			if strings.Contains(got, "SMUGGLED") {
				t.Fatalf("error message echoes a credential-like value:\n%s", got)
			}
			golden := f + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run with -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("error text differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d invalid cases found; the table shrank", n)
	}
}

// TestValidManifests parses every file under testdata/valid.
func TestValidManifests(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*")
	if len(files) == 0 {
		t.Fatal("no valid cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseManifest(f, src); err != nil {
				t.Fatalf("valid bottle refused:\n%v", err)
			}
		})
	}
}
