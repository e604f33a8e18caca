package launcher_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
)

// waitScript runs in a bottle until the host creates the file go in the
// workdir, after saying "up".
const waitScript = `echo up; while [ ! -e .bb-go ]; do sleep 0.05; done; echo done`

// start launches the bottle on waitScript and returns once it says "up".
func (w *protectWorld) start() *launcher.Bottle {
	w.t.Helper()
	b, _ := w.startScript(waitScript)
	return b
}

func (w *protectWorld) startScript(script string) (*launcher.Bottle, *lockedBuffer) {
	w.t.Helper()
	out := &lockedBuffer{}
	b, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: w.workdir,
		Command: []string{"sh", "-c", script}, Stdio: launcher.Stdio{Out: out, Err: out}})
	if err != nil {
		w.t.Fatal(err)
	}
	out.waitFor(w.t, "up")
	return b, out
}

func (w *protectWorld) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(w.workdir, rel))
	return err == nil
}

// recordedPlaceholders reads the home's placeholder records.
func (w *protectWorld) recordedPlaceholders() []string {
	w.t.Helper()
	files, _ := filepath.Glob(filepath.Join(w.home, "placeholders", "*.json"))
	var out []string
	for _, f := range files {
		var rec struct {
			Entries []struct {
				Path string `json:"path"`
			} `json:"entries"`
		}
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &rec) != nil {
			w.t.Fatalf("placeholder record %s: %v", f, err)
		}
		for _, e := range rec.Entries {
			out = append(out, e.Path)
		}
	}
	return out
}

// TestPlaceholdersLiveWithTheLastBottle: missing protected paths are held
// by placeholders on the host while a bottle runs, recorded in the home,
// and removed when the last bottle on the workdir ends; one the operator
// filled meanwhile stays.
func TestPlaceholdersLiveWithTheLastBottle(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	w.setupRepo()
	first := w.start()
	for _, p := range []string{".envrc", ".mcp.json", ".idea", ".githooks", ".git/modules", ".git/config.worktree"} {
		if !w.exists(p) {
			t.Errorf("no placeholder at %s while the bottle runs", p)
		}
	}
	if rec := strings.Join(w.recordedPlaceholders(), " "); !strings.Contains(rec, ".envrc") || !strings.Contains(rec, ".git/modules") {
		t.Errorf("placeholders not recorded: %s", rec)
	}
	// The operator uses one of them meanwhile.
	mkfileT(t, filepath.Join(w.workdir, ".idea", "workspace.xml"), "<x/>")

	second := w.start()
	mkfileT(t, filepath.Join(w.workdir, ".bb-go"), "")
	first.Wait(context.Background())
	second.Wait(context.Background())
	for _, p := range []string{".envrc", ".mcp.json", ".githooks", ".git/modules", ".git/config.worktree"} {
		if w.exists(p) {
			t.Errorf("placeholder %s left after the last bottle", p)
		}
	}
	if !w.exists(".idea/workspace.xml") {
		t.Errorf("the operator's file in a placeholder was removed")
	}
	if rec := w.recordedPlaceholders(); len(rec) != 0 {
		t.Errorf("records left: %v", rec)
	}
}

// TestPlaceholdersOutliveAnEarlierBottle: a bottle that ends while another
// runs on the same workdir leaves the placeholders the other stands on
// (removing one would detach the other bottle's mount).
func TestPlaceholdersOutliveAnEarlierBottle(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	w.setupRepo()
	long, out := w.startScript(`echo up; while [ ! -e .bb-go ]; do sleep 0.05; done
rmdir .envrc; echo x > .envrc/x; ls -d .envrc && echo still-held`)
	b, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: w.workdir, Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	b.Wait(context.Background())
	if !w.exists(".envrc") || !w.exists(".git/modules") {
		t.Fatal("a bottle's teardown removed placeholders another bottle holds")
	}
	// The long bottle's mount still holds after the short one's teardown.
	mkfileT(t, filepath.Join(w.workdir, ".bb-go"), "")
	long.Wait(context.Background())
	if !strings.Contains(out.String(), "still-held") || w.exists(".envrc/x") {
		t.Errorf("the placeholder stopped holding in the long bottle:\n%s", out.String())
	}
	if w.exists(".envrc") {
		t.Error("the last bottle out left the placeholder")
	}
}

// TestPlaceholdersOfACrashedOwner: an owner killed while its bottle runs
// leaves its placeholders; cleanup removes them.
func TestPlaceholdersOfACrashedOwner(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	w.setupRepo()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "launch", "demo", "--workdir", w.workdir, "--", "sh", "-c", waitScript)
	for k, v := range w.hostEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "up" {
				up <- true
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-up:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("the bottle never came up")
	}
	if !w.exists(".envrc") {
		t.Fatal("no placeholder while the bottle runs")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !w.exists(".envrc") {
		t.Fatal("the placeholder went with the owner: nothing left to test")
	}
	rep, err := w.l.Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.exists(".envrc") || w.exists(".git/modules") {
		t.Errorf("cleanup left the crashed owner's placeholders; report %v", rep.Removed)
	}
	if !strings.Contains(strings.Join(rep.Removed, "\n"), "placeholder "+filepath.Join(w.workdir, ".envrc")) {
		t.Errorf("cleanup report does not name the placeholder: %v", rep.Removed)
	}
}

func mkfileT(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
