package schemas

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedBottles adds every bottle under testdata (valid and invalid) to a
// fuzz corpus, so the fuzzers start from the shapes the table tests cover.
func seedBottles(f *testing.F, add func(name string, src []byte)) {
	f.Helper()
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(dir + "/*")
		for _, p := range files {
			if strings.HasSuffix(p, ".err") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			add(p, b)
		}
	}
}

// FuzzSplitFrontmatter checks that the splitter never panics, that what it
// returns is a slice of its input that starts on the line it reports, and
// that every refusal is an error a person can read.
func FuzzSplitFrontmatter(f *testing.F) {
	seedBottles(f, func(_ string, b []byte) { f.Add(b) })
	f.Add([]byte("---\n---"))
	f.Add([]byte("---\r\n...\r\n"))
	f.Add([]byte("\xef\xbb\xbf---\nx: 1\n---\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fm, first, err := SplitFrontmatter(src)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if first != 2 {
			t.Fatalf("frontmatter starts on line %d, want 2", first)
		}
		if !strings.Contains(string(src), string(fm)) {
			t.Fatal("frontmatter is not part of the input")
		}
	})
}

// FuzzParseManifest checks that decoding never panics and that every
// rejection is a list of positioned errors, each naming a line in the file.
func FuzzParseManifest(f *testing.F) {
	seedBottles(f, func(name string, b []byte) {
		f.Add(strings.HasSuffix(name, ".md"), b)
	})
	f.Fuzz(func(t *testing.T, markdown bool, src []byte) {
		name := "fuzz.yaml"
		if markdown {
			name = "fuzz.md"
		}
		m, err := ParseManifest(name, src)
		if err == nil {
			if m == nil {
				t.Fatal("nil manifest without an error")
			}
			// Whatever is accepted must satisfy the per-file rules.
			if errs := m.Validate(); len(errs) > 0 {
				t.Fatalf("accepted manifest fails validation: %v", errs)
			}
			return
		}
		list, ok := AsErrors(err)
		if !ok || len(list) == 0 {
			t.Fatalf("rejection is not a positioned error: %T %v", err, err)
		}
		// YAML breaks lines at \n, \r and \r\n; count generously.
		lines := strings.Count(string(src), "\n") + strings.Count(string(src), "\r") + 1
		for _, e := range list {
			if e.At.File != name || e.Msg == "" {
				t.Fatalf("error without file or message: %#v", e)
			}
			if e.At.Line < 0 || e.At.Line > lines+1 {
				t.Fatalf("error on line %d of a %d-line file: %v", e.At.Line, lines, e)
			}
		}
	})
}

// FuzzParseRoutes checks the routes file decoder the proxy relies on. The
// input is sealed first, so that the fuzzer explores the YAML behind the
// seal (FuzzCheckRoutesSeal explores the seal).
func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte("version: 1\nroutes:\n  - host: api.github.com\n    auth: {scheme: Bearer, slot: EGRESS_TOKEN_0}\n"))
	f.Add([]byte("version: 1\nroutes: []\n"))
	f.Add([]byte("version: 2\nroutes:\n  - host: 1.2.3.4\n    tls_passthrough: true\n    auth: {scheme: x, slot: y}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rf, err := ParseRoutes("routes.yaml", SealRoutes(src))
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("rejection is not a positioned error: %T %v", err, err)
			}
			return
		}
		for _, r := range rf.Routes {
			if CheckHostName(r.Host) != "" || IsIPLiteral(r.Host) {
				t.Fatalf("accepted route host %q", r.Host)
			}
			if r.Auth != nil && (!IsSlotName(r.Auth.Slot) || r.TLSPassthrough) {
				t.Fatalf("accepted bad auth %+v", r)
			}
		}
	})
}

// FuzzCheckRoutesSeal checks that the seal takes a file only whole: what it
// accepts is exactly a body and its seal, and no cut of it is accepted.
func FuzzCheckRoutesSeal(f *testing.F) {
	sealed := SealRoutes([]byte("version: 1\nroutes:\n  - host: a.example\n    methods: [GET]\n"))
	f.Add(sealed)
	f.Add(sealed[:len(sealed)-1])
	f.Add(sealed[:len(sealed)/2])
	f.Add(SealRoutes(nil))
	f.Add([]byte("# sha256:\n"))
	f.Add([]byte("version: 1\nroutes: []\n# sha256:" + strings.Repeat("0", 64) + "\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		body, err := CheckRoutesSeal("routes.yaml", src)
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) != 1 || list[0].At.File != "routes.yaml" {
				t.Fatalf("rejection is not one positioned error: %T %v", err, err)
			}
			return
		}
		if !bytes.Equal(SealRoutes(body), src) {
			t.Fatalf("accepted %q, which is not its body %q sealed", src, body)
		}
		for _, cut := range []int{0, len(src) - 1, len(src) - sealLen, len(src) / 2} {
			if cut >= 0 && cut < len(src) {
				if _, err := CheckRoutesSeal("routes.yaml", src[:cut]); err == nil {
					t.Fatalf("accepted %q cut at %d", src, cut)
				}
			}
		}
	})
}
