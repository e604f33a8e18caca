package schemas

import (
	"bytes"
	"strings"
	"testing"
)

const sealedSample = `# a routes file
version: 1
routes:
  - host: a.example
    path_allowlist: [/repos/myorg/]
    methods: [GET]
  - host: b.example
`

// Every prefix of a sealed file, and every file with one byte changed, is
// refused with an error naming the file and the seal's line; the whole
// file is taken.
func TestRoutesSealRefusesEveryCut(t *testing.T) {
	whole := SealRoutes([]byte(sealedSample))
	if _, err := ParseRoutes("r.yaml", whole); err != nil {
		t.Fatalf("the sealed file: %v", err)
	}
	for cut := range len(whole) {
		_, err := ParseRoutes("r.yaml", whole[:cut])
		if err == nil {
			t.Fatalf("cut at %d of %d accepted", cut, len(whole))
		}
		if !strings.HasPrefix(err.Error(), "r.yaml:") {
			t.Fatalf("cut at %d: the error does not name the file: %v", cut, err)
		}
	}
	for i := range len(whole) {
		changed := bytes.Clone(whole)
		changed[i] ^= 0x01
		if _, err := ParseRoutes("r.yaml", changed); err == nil {
			t.Fatalf("a change at byte %d accepted:\n%s", i, changed)
		}
	}
}

func TestRoutesSealErrors(t *testing.T) {
	whole := SealRoutes([]byte(sealedSample))
	cases := map[string]string{
		"":                              "r.yaml:1:1: routes file is empty",
		sealedSample:                    "r.yaml:7:1: routes file is not sealed",
		string(whole[:len(whole)-1]):    "r.yaml:8:1: routes file is cut short: its seal line does not end with a newline",
		string(whole[:len(whole)-5]):    "r.yaml:8:1: routes file is cut short",
		sealedSample + "# sha256:abc\n": "r.yaml:8:1: routes file seal is malformed",
		sealedSample + "# sha256:" + strings.Repeat("0", 64) + "\n":               "r.yaml:8:1: routes file does not match its seal",
		string(whole) + "  - host: c.example\n":                                   "r.yaml:9:1: routes file is not sealed",
		strings.Replace(string(whole), "a.example", "A.example", 1):               "does not match its seal",
		string(SealRoutes(append(bytes.Clone(whole), "    methods: [GET]\n"...))): "r.yaml:8:1: routes file has a seal line before its last line",
	}
	for src, want := range cases {
		_, err := ParseRoutes("r.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRoutes(%q) = %v, want %q", src, err, want)
		}
		if err != nil && src != "" && !strings.Contains(err.Error(), "bot-bottle routes seal") {
			t.Errorf("the error does not say how to seal a file: %v", err)
		}
	}
}

func TestUnsealRoutes(t *testing.T) {
	whole := SealRoutes([]byte(sealedSample))
	if got := UnsealRoutes(whole); string(got) != sealedSample {
		t.Fatalf("UnsealRoutes = %q", got)
	}
	if got := UnsealRoutes([]byte(sealedSample)); string(got) != sealedSample {
		t.Fatalf("UnsealRoutes of an unsealed file = %q", got)
	}
	// Sealed, appended to, sealed again by hand: both seals go.
	twice := SealRoutes(append(bytes.Clone(whole), "  - host: c.example\n"...))
	if got := UnsealRoutes(twice); string(got) != sealedSample+"  - host: c.example\n" {
		t.Fatalf("UnsealRoutes of a file sealed twice = %q", got)
	}
	// Edited after sealing: the stale seal goes, the edit stays.
	edited := strings.Replace(string(whole), "b.example", "c.example", 1)
	if got := SealRoutes(UnsealRoutes([]byte(edited))); !bytes.Contains(got, []byte("c.example")) {
		t.Fatalf("resealed %q", got)
	} else if _, err := ParseRoutes("r.yaml", got); err != nil {
		t.Fatal(err)
	}
	// A body without a final newline gets one before its seal.
	if got := SealRoutes([]byte("version: 1\nroutes: []")); !bytes.HasPrefix(got, []byte("version: 1\nroutes: []\n# sha256:")) {
		t.Fatalf("SealRoutes = %q", got)
	}
}
