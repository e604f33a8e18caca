package netns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitBinaryRefusesWhatOthersCouldSwap: a bot-bottle-init that others
// may write (so anyone could put their own init in bottles), or that is
// no file, or no Go binary, is never taken, whatever it claims.
func TestInitBinaryRefusesWhatOthersCouldSwap(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	writable := filepath.Join(dir, "writable")
	if err := os.WriteFile(writable, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(writable, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		writable: "others may write it",
		folder:   "not a regular file",
		script:   "script", // no build information: readBuild names the file
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var c initBinaries
		err = c.prove(f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal saying %q", filepath.Base(path), err, want)
		}
	}
}
