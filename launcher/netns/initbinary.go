package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/bot-bottle/bot-bottle/launcher"

	"golang.org/x/sys/unix"
)

// initBinaries remembers which init binaries were proven the same build,
// or not, by what their stat says, so a launch costs an open and an fstat
// rather than a read of the binary's build information.
type initBinaries struct {
	mu     sync.Mutex
	proven map[initStamp]error // nil: the same build
	last   InitChoice          // what the last launch chose, and why
}

// initStamp identifies one version of a file: a replaced or rewritten
// binary has another inode, size or change time.
type initStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
	mode, uid    uint32
}

// maxInitStamps bounds the memory of files seen (each is a binary
// put beside bot-bottle; more means someone keeps replacing it).
const maxInitStamps = 16

// openInit passes the binary the bottle's init runs from to the init (as
// ex's next descriptor) and returns the path that executes it: the
// companion init beside bot-bottle when it is this very build, else
// bot-bottle itself. An explicit binary (New with exe) is always used
// as it is.
func (b *Backend) openInit(ex *extraFiles) (string, error) {
	exe, err := b.executable()
	if err != nil {
		return "", err
	}
	if b.exe == "" {
		if f := b.inits.open(exe); f != nil {
			return "/proc/self/fd/" + strconv.Itoa(ex.add(f)), nil
		}
	} else {
		b.inits.note(InitChoice{Path: exe, Why: "given"})
	}
	return ex.openExe(exe)
}

// InitChoice is which binary bottles start their init from.
type InitChoice struct {
	Path string // the binary
	// Why says why bot-bottle itself, not the init binary beside it: none
	// is there, or it is not this build (empty when Path is the init
	// binary).
	Why string
	// Mismatch is set when an init binary is beside bot-bottle but is
	// not its build: a partial upgrade, or two separate builds.
	Mismatch bool
}

// Init says which binary this backend starts bottles' inits from, and why:
// for doctor, and a person wondering whether bot-bottle-init is in use.
func (b *Backend) Init() (InitChoice, error) {
	var ex extraFiles
	defer ex.close()
	if _, err := b.openInit(&ex); err != nil {
		return InitChoice{}, err
	}
	b.inits.mu.Lock()
	defer b.inits.mu.Unlock()
	return b.inits.last, nil
}

// open returns the companion beside exe, open, when it is proven to be the
// same build as this process; nil when there is none or it is not.
func (c *initBinaries) open(exe string) *os.File {
	path := filepath.Join(filepath.Dir(exe), launcher.InitBinaryName)
	f, err := os.Open(path)
	if err != nil {
		c.note(InitChoice{Path: exe, Why: "no " + launcher.InitBinaryName + " beside it"})
		return nil
	}
	if err := c.prove(f); err != nil {
		_ = f.Close()
		c.note(InitChoice{Path: exe, Why: fmt.Sprintf("%s is not this build: %v", path, err), Mismatch: true})
		return nil
	}
	c.note(InitChoice{Path: path})
	return f
}

func (c *initBinaries) note(choice InitChoice) {
	c.mu.Lock()
	c.last = choice
	c.mu.Unlock()
}

// prove checks the open companion: a regular file only its owner (root or
// this user) may change, built as this binary was. The descriptor proven
// is the one the init executes, so a file swapped after the check is not
// what runs.
func (c *initBinaries) prove(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return errors.New("not a regular file")
	case st.Mode&0o022 != 0:
		return errors.New("others may write it")
	case st.Uid != 0 && int(st.Uid) != os.Getuid():
		return fmt.Errorf("owned by uid %d", st.Uid)
	}
	stamp := initStamp{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim, mode: st.Mode, uid: st.Uid}
	c.mu.Lock()
	err, seen := c.proven[stamp]
	c.mu.Unlock()
	if seen {
		return err
	}
	bi, err := readBuild(f)
	if err == nil {
		err = sameBuild(selfBuild(), bi, buildPair)
	}
	c.mu.Lock()
	if c.proven == nil || len(c.proven) >= maxInitStamps {
		c.proven = map[initStamp]error{}
	}
	c.proven[stamp] = err
	c.mu.Unlock()
	return err
}
