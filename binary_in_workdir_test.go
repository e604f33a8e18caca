package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBottleCannotWriteTheBinariesTheHostRuns attacks from inside a bottle
// launched the way the README's Run: line does, with bot-bottle built into
// the workdir's bin/: the agent reads the first bytes of bin/bot-bottle
// and of bin/bot-bottle-init and writes them back, replaces them, and
// plants a bot-bottle-init where there is none. The host runs those files
// at its next launch (bot-bottle on the host, the init as the next
// bottle's init), so every write must be refused, and the files must be
// unchanged afterwards.
func TestBottleCannotWriteTheBinariesTheHostRuns(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			bin := filepath.Join(e.workdir, "bin")
			must(t, os.MkdirAll(bin, 0o755))
			for _, name := range []string{"bot-bottle", "bot-bottle-init"} {
				data, err := os.ReadFile(filepath.Join(filepath.Dir(e.bin), name))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(bin, name), data, 0o755))
			}
			e.bin = filepath.Join(bin, "bot-bottle")
			before := map[string][]byte{}
			for _, name := range []string{"bot-bottle", "bot-bottle-init"} {
				data, err := os.ReadFile(filepath.Join(bin, name))
				must(t, err)
				before[name] = data
			}
			attack := `for f in bin/bot-bottle bin/bot-bottle-init; do
  head -c 4 $f > /tmp/head && dd if=/tmp/head of=$f conv=notrunc 2>/dev/null && echo "WROTE $f"
  echo x >> $f 2>/dev/null && echo "APPENDED $f"
  cp /tmp/head $f.new 2>/dev/null && mv -f $f.new $f 2>/dev/null && echo "REPLACED $f"
  rm -f $f 2>/dev/null && [ ! -e $f ] && echo "REMOVED $f"
done
mv bin bin.old 2>/dev/null && echo "MOVED bin"
echo done`
			out, err := e.cli(e.launchArgs("sh", "-c", attack)...)
			if err != nil || !strings.Contains(out, "done") {
				t.Fatalf("launch: %v\n%s", err, out)
			}
			for _, verb := range []string{"WROTE", "APPENDED", "REPLACED", "REMOVED", "MOVED"} {
				if strings.Contains(out, verb) {
					t.Errorf("the bottle could change the binaries the host runs:\n%s", out)
					break
				}
			}
			for name, data := range before {
				now, err := os.ReadFile(filepath.Join(bin, name))
				if err != nil || !bytes.Equal(now, data) {
					t.Errorf("bin/%s changed on the host (%v)", name, err)
				}
			}

			// No init binary beside bot-bottle: the bottle must not plant one.
			must(t, os.Remove(filepath.Join(bin, "bot-bottle-init")))
			plant := `head -c 4 bin/bot-bottle > bin/bot-bottle-init 2>/dev/null && echo "PLANTED"
mkdir -p bin/bot-bottle-init 2>/dev/null; (: > bin/bot-bottle-init/x) 2>/dev/null && echo "PLANTED inside"
rmdir bin/bot-bottle-init 2>/dev/null && echo "PLANTED after removing the placeholder"
echo done`
			out, err = e.cli(e.launchArgs("sh", "-c", plant)...)
			if err != nil || !strings.Contains(out, "done") {
				t.Fatalf("launch: %v\n%s", err, out)
			}
			if strings.Contains(out, "PLANTED") {
				t.Errorf("the bottle could plant the init binary the host's next launch runs:\n%s", out)
			}
			if fi, err := os.Lstat(filepath.Join(bin, "bot-bottle-init")); err == nil {
				t.Errorf("bin/bot-bottle-init is on the host after the bottle (mode %v)", fi.Mode())
			}
		})
	}
}
