package hostconfig

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the after and error sections of testdata/merge/*.txtar")

// TestMergeGolden merges the server of each testdata/merge case into its
// `before` file (no section: the file does not exist) and compares with
// `after`, or with `error` for a file that must be refused. Every result
// must parse, hold the entry, keep everything else, and stay unchanged
// when merged again.
func TestMergeGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/merge/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, s := caseServer(t, a)
			before, hasBefore := section(a, "before")
			if !hasBefore {
				before = nil
			}
			out, err := Merge(c, before, s)
			if _, wantErr := section(a, "error"); wantErr || err != nil {
				got := "no error\n"
				if err != nil {
					got = err.Error() + "\n"
				}
				golden(t, path, a, "error", got)
				return
			}
			golden(t, path, a, "after", string(out))
			again, err := Merge(c, out, s)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("merging again changed the file (err %v):\n%s", err, again)
			}
			checkKeptAndHeld(t, c, before, out, s)
		})
	}
}

// caseServer reads the `client` and `server` sections: "stdio PATH
// [HOME]" or "http URL".
func caseServer(t *testing.T, a *txtar.Archive) (Client, Server) {
	t.Helper()
	cs, _ := section(a, "client")
	c, err := ParseClient(strings.TrimSpace(string(cs)))
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := section(a, "server")
	f := strings.Fields(string(ss))
	var s Server
	switch {
	case len(f) >= 2 && f[0] == "stdio":
		home := ""
		if len(f) > 2 {
			home = f[2]
		}
		s, err = Stdio(f[1], home)
	case len(f) == 2 && f[0] == "http":
		s, err = HTTP(f[1])
	default:
		t.Fatalf("server section %q: want stdio PATH [HOME] or http URL", ss)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func section(a *txtar.Archive, name string) ([]byte, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func golden(t *testing.T, path string, a *txtar.Archive, name, got string) {
	t.Helper()
	want, ok := section(a, name)
	if *update {
		if ok {
			for i := range a.Files {
				if a.Files[i].Name == name {
					a.Files[i].Data = []byte(got)
				}
			}
		} else {
			a.Files = append(a.Files, txtar.File{Name: name, Data: []byte(got)})
		}
		if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !ok {
		t.Fatalf("no %s section; got:\n%s", name, got)
	}
	if string(want) != got {
		t.Errorf("%s differs\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// checkKeptAndHeld decodes before and after with the clients' own kind of
// parser (encoding/json, go-toml) and checks, independently of the merge's
// own verification, that after holds the server's entry and that nothing
// else was lost or changed.
func checkKeptAndHeld(t *testing.T, c Client, before, after []byte, s Server) {
	t.Helper()
	decode := func(b []byte) map[string]any {
		m := map[string]any{}
		if len(bytes.TrimSpace(b)) == 0 {
			return m
		}
		var err error
		if c == Codex {
			err = toml.Unmarshal(b, &m)
		} else {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, b)
		}
		return m
	}
	b, a := decode(before), decode(after)
	key := serversKey
	if c == Codex {
		key = serversTable
	}
	as, _ := a[key].(map[string]any)
	own, _ := as[ServerName].(map[string]any)
	if own == nil {
		t.Fatalf("no %s.%s in\n%s", key, ServerName, after)
	}
	if s.IsHTTP() {
		if own["url"] != s.URL {
			t.Errorf("url = %v, want %s", own["url"], s.URL)
		}
		if _, ok := own["command"]; ok {
			t.Errorf("an HTTP entry kept the stdio command")
		}
	} else if own["command"] != s.Command {
		t.Errorf("command = %v, want %s", own["command"], s.Command)
	}
	delete(as, ServerName)
	if bs, ok := b[key].(map[string]any); ok {
		delete(bs, ServerName)
	} else if len(as) == 0 {
		delete(a, key)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the rest of the file changed:\nbefore %v\nafter  %v", b, a)
	}
}
