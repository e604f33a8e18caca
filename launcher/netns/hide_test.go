package netns_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// TestManifestHiddenPaths: the paths a manifest's hide names are out of
// the bottle's sight, a folder and a file alike, also when named through a
// symlink; the host's other files beside them stay readable (so the test
// can fail), a path that does not exist changes nothing, and the bottle's
// root cannot take the cover off.
func TestManifestHiddenPaths(t *testing.T) {
	f := newFixture(t)
	// /tmp, where the fixture lives, is hidden anyway: plant under /var.
	base, err := os.MkdirTemp("/var", "bot-bottle-hide-")
	if errors.Is(err, fs.ErrPermission) {
		t.Skip("an unprivileged owner cannot plant under /var; root's run covers this")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	files := map[string]string{
		"exports/customers.csv": "hidden-folder-value",
		"app/credentials.env":   "hidden-file-value",
		"app/visible.txt":       "visible-value",
		"real/keys.txt":         "hidden-through-link-value",
	}
	for p, v := range files {
		p = filepath.Join(base, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	f.hide = []string{filepath.Join(base, "exports"), filepath.Join(base, "app", "credentials.env"),
		filepath.Join(base, "link", "keys.txt"), filepath.Join(base, "absent")}
	script := "for p in exports/customers.csv app/credentials.env app/visible.txt real/keys.txt link/keys.txt; do echo \"$p: $(cat " + base + "/$p 2>&1)\"; done; " +
		"umount " + base + "/exports 2>&1; umount -l " + base + "/app/credentials.env 2>&1; cat " + base + "/exports/customers.csv 2>&1; echo done"
	code, out := f.run(false, "sh", "-c", script)
	t.Logf("exit %d\n%s", code, out)
	if !strings.Contains(out, "visible-value") || !strings.Contains(out, "done") {
		t.Fatalf("the bottle did not read the host file beside the hidden ones")
	}
	for _, v := range []string{"hidden-folder-value", "hidden-file-value", "hidden-through-link-value"} {
		if strings.Contains(out, v) {
			t.Errorf("the bottle read %s, which the manifest hides", v)
		}
	}
}

// TestManifestHiddenPathInsideWorkdirRefused: a hidden path inside the
// workdir cannot be hidden (the workdir is bound over the hiding mounts);
// the launch is refused with the path named, never run with it visible.
func TestManifestHiddenPathInsideWorkdirRefused(t *testing.T) {
	f := newFixture(t)
	secret := filepath.Join(f.workdir, "secret.env")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := &launcher.Spec{
		BottleID: f.id, Home: f.bbHome, Owner: launcher.Self(), RunDir: f.rd, Workdir: f.workdir,
		HostHome: f.hostHome, HostPath: os.Getenv("PATH"), Hide: []string{secret},
		Init: bottleinit.Config{Command: []string{"true"}, Dir: f.workdir},
	}
	p, err := f.backend.Start(context.Background(), spec)
	if err == nil {
		p.Stop(0)
		p.Wait()
		t.Fatal("a bottle started with a hidden path inside its workdir")
	}
	if !strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "inside the workdir") {
		t.Errorf("the refusal does not name the path and why: %v", err)
	}
}
