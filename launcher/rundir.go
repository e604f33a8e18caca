package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

// InBottleDir is where the bottle sees the shared part of its run folder:
// the proxy and agent-surface sockets and the CA certificate.
const InBottleDir = "/run/bot-bottle"

// Names of the files in a run folder.
const (
	sharedDirName  = "bottle" // the part mounted into the bottle
	ProxySocket    = "proxy.sock"
	MCPSocket      = "mcp.sock"
	GitSocket      = "git.sock"
	CACertFile     = "ca.pem"
	InitConfigFile = "init.json"
	outputLogName  = "output.log"
	tempHomeName   = "home"
	recordName     = "bottle.json"
	routesName     = "routes.yaml"
	planName       = "plan.json"
)

// maxSocketPath is the longest path a unix socket can be bound to on Linux
// (sun_path is 108 bytes, one for the terminating NUL).
const maxSocketPath = 107

// RunDir is a bottle's run folder, $BOT_BOTTLE_HOME/run/<id>, mode 0700. Its
// shared subfolder is mounted read-only into the bottle and holds nothing
// secret: the CA key stays in the owner's memory, tokens in its proxy.
type RunDir struct {
	Root string
}

// RunRoot is the folder of every run folder of a home.
func RunRoot(home string) string { return filepath.Join(home, "run") }

// RunDirOf returns the run folder of bottle id in home.
func RunDirOf(home, id string) RunDir { return RunDir{Root: filepath.Join(RunRoot(home), id)} }

// Shared is the host path of the subfolder the bottle sees at InBottleDir.
func (r RunDir) Shared() string { return filepath.Join(r.Root, sharedDirName) }

// SharedFile is the host path of a file in Shared.
func (r RunDir) SharedFile(name string) string { return filepath.Join(r.Shared(), name) }

// InBottle is the path of a shared file as the bottle sees it.
func InBottle(name string) string { return path.Join(InBottleDir, name) }

// TempHome is the agent's home when it is not kept (another running
// bottle keeps it): in the run folder, beside what the bottle does not
// see, and removed with it.
func (r RunDir) TempHome() string { return filepath.Join(r.Root, tempHomeName) }

// OutputLog is the command's output as teed by the owner.
func (r RunDir) OutputLog() string { return filepath.Join(r.Root, outputLogName) }

// Routes is where the owner keeps a copy of the bottle's live routes table
// (no secret: slots only), for other processes to read; the bottle does not
// see it.
func (r RunDir) Routes() string { return filepath.Join(r.Root, routesName) }

// Plan is where the owner keeps the plan the bottle was launched from, for
// other processes to read; the bottle does not see it.
func (r RunDir) Plan() string { return filepath.Join(r.Root, planName) }

// GitGate is the git gate's own folder (its mirrors and quarantines); the
// bottle does not see it.
func (r RunDir) GitGate() string { return filepath.Join(r.Root, "gitgate") }

// Record is the path of the bottle's record in its run folder.
func (r RunDir) Record() string { return filepath.Join(r.Root, recordName) }

// RunRecord is what a run folder says about its bottle, so that cleanup can
// tell an orphan from a live bottle even when the registry cannot say.
type RunRecord struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Backend     string `json:"backend"`
	Owner       Owner  `json:"owner"`
	ContainerID string `json:"container_id,omitempty"`
	// Workdir and Started let cleanup sweep the workdir of a bottle whose
	// owner died (see sweep.go).
	Workdir string    `json:"workdir,omitempty"`
	Started time.Time `json:"started,omitzero"`
}

// CreateRunDir makes the run folder with its record in one step: it is built
// under a dot-name and renamed into place, so cleanup never sees a run
// folder without an owner.
func CreateRunDir(home string, rec RunRecord) (RunDir, error) {
	root := RunRoot(home)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return RunDir{}, fmt.Errorf("run folder: %w", err)
	}
	rd := RunDirOf(home, rec.ID)
	if n := len(rd.SharedFile(ProxySocket)); n > maxSocketPath {
		return RunDir{}, fmt.Errorf("run folder %s: socket path %s is %d bytes, over the limit of %d for a unix socket: set %s to a shorter path",
			rd.Root, rd.SharedFile(ProxySocket), n, maxSocketPath, "BOT_BOTTLE_HOME")
	}
	staging := filepath.Join(root, "."+rec.ID+".new")
	if err := os.Mkdir(staging, 0o700); err != nil {
		return RunDir{}, fmt.Errorf("run folder: %w", err)
	}
	st := RunDir{Root: staging}
	err := makeShared(st, rec.ID)
	if err == nil {
		err = writeRecord(st, rec)
	}
	if err == nil {
		err = os.Rename(staging, rd.Root)
	}
	if err != nil {
		_ = st.remove()
		return RunDir{}, fmt.Errorf("run folder %s: %w", rd.Root, err)
	}
	return rd, nil
}

// sharedRuntimeRoot is where a root owner keeps the shared part of each
// run folder, linked from it: the docker backend binds that part into the
// container, whose mountinfo shows a bind's source path, and this path
// names neither the bot-bottle home nor the run folder.
var sharedRuntimeRoot = "/run/bot-bottle/shared"

// makeShared makes the shared part of a run folder: a folder of its own,
// or, for root, a link to one under sharedRuntimeRoot.
func makeShared(rd RunDir, id string) error {
	if os.Getuid() != 0 {
		return os.Mkdir(rd.Shared(), 0o755)
	}
	if err := os.MkdirAll(sharedRuntimeRoot, 0o755); err != nil {
		return err
	}
	target, err := os.MkdirTemp(sharedRuntimeRoot, id+"-")
	if err != nil {
		return err
	}
	if err := os.Chmod(target, 0o755); err != nil {
		_ = os.Remove(target)
		return err
	}
	if err := os.Symlink(target, rd.Shared()); err != nil {
		_ = os.Remove(target)
		return err
	}
	return nil
}

func writeRecord(rd RunDir, rec RunRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(rd.Record(), data, 0o600)
}

// ReadRunRecord reads a run folder's record; a folder without one reads as
// fs.ErrNotExist. Backends read it to find their own leftovers.
func ReadRunRecord(rd RunDir) (RunRecord, error) { return readRecord(rd) }

// readRecord reads a run folder's record; a folder without one reads as
// fs.ErrNotExist.
func readRecord(rd RunDir) (RunRecord, error) {
	var rec RunRecord
	data, err := os.ReadFile(rd.Record())
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("run record %s: %w", rd.Record(), err)
	}
	return rec, nil
}

// Remove deletes the run folder and everything in it (see remove): for
// the backends' tests, which make run folders of their own.
func (r RunDir) Remove() error { return r.remove() }

// remove deletes the run folder and everything in it. A mount left inside
// (the docker backend's host-side workdir mount, when its owner died before
// detaching it) is detached first, and a folder that still holds one is
// not removed: removal would go on into the mounted workdir.
func (r RunDir) remove() error {
	if err := detachMountsUnder(r.Root); err != nil {
		return fmt.Errorf("remove run folder: %w", err)
	}
	if t, err := os.Readlink(r.Shared()); err == nil && filepath.Dir(t) == sharedRuntimeRoot {
		if err := os.RemoveAll(t); err != nil {
			return fmt.Errorf("remove run folder: %w", err)
		}
	}
	if err := os.RemoveAll(r.Root); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove run folder: %w", err)
	}
	return nil
}
