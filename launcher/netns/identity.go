package netns

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Who a local bottle is on the host. See the package documentation
// ("The bottle's identity") for why.

// Fixed range used when /etc/subuid (or /etc/subgid) gives root none: 64Ki
// ids at 0x60000000, inside the range systemd leaves to containers
// (524288-1879048191) and far above any user useradd would create.
const (
	fixedRangeStart = 0x60000000
	fixedRangeSize  = 1 << 16
)

// leaseDir holds one lock file per id of the range: a bottle holds the
// lock on its id for its life, so no two bottles share one, and a crashed
// owner's lock goes with it.
var leaseDir = "/run/bot-bottle/id-leases"

// identity is the host user and group a bottle's root maps to.
type identity struct {
	uid, gid int
	// rootOwner: the owner is host root, so the init cannot walk the
	// owner's folders and gets everything as descriptors.
	rootOwner bool
	// idmap: the bottle's root is a leased unprivileged id and the workdir
	// is mounted idmapped, so its files stay root's on disk.
	idmap bool
	lease *os.File
}

// release gives the leased id back.
func (id identity) release() {
	if id.lease != nil {
		_ = id.lease.Close()
	}
}

// bottleIdentity chooses who the bottle of workdir runs as:
//   - an owner that is not root: that user, as before (one id mapped);
//   - root, in a workdir a user owns: that user, so the files the agent
//     writes are theirs, and the bottle has exactly their rights;
//   - root, in a workdir root owns: an unprivileged id leased from root's
//     /etc/subuid range (or the fixed range), never host uid 0, with the
//     workdir idmapped so that its files stay root's on disk.
func bottleIdentity(workdir, bottleID string) (identity, error) {
	if os.Getuid() != 0 {
		return identity{uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(workdir, &st); err != nil {
		return identity{}, fmt.Errorf("local backend: workdir %s: %w", workdir, err)
	}
	if st.Uid != 0 {
		return identity{uid: int(st.Uid), gid: userGroup(st.Uid, st.Gid), rootOwner: true}, nil
	}
	return leaseIdentity(bottleID)
}

// probeIdentity is who the throwaway namespaces of Check run as: root
// probes as nobody, never as itself.
func probeIdentity() identity {
	if os.Getuid() != 0 {
		return identity{uid: os.Getuid(), gid: os.Getgid()}
	}
	return identity{uid: 65534, gid: 65534, rootOwner: true}
}

// userGroup is the group a root-launched bottle of a user's workdir gets:
// the workdir's group, or the user's own when that is root's, or nogroup;
// never host gid 0.
func userGroup(uid, gid uint32) int {
	if gid != 0 {
		return int(gid)
	}
	if u, err := osuser.LookupId(strconv.Itoa(int(uid))); err == nil {
		if g, err := strconv.Atoi(u.Gid); err == nil && g != 0 {
			return g
		}
	}
	return 65534
}

// leaseIdentity leases the first free id of root's range, starting at a
// place the bottle id picks so concurrent launches rarely collide.
func leaseIdentity(bottleID string) (identity, error) {
	ustart, usize, err := subRange("/etc/subuid")
	if err != nil {
		return identity{}, err
	}
	gstart, gsize, err := subRange("/etc/subgid")
	if err != nil {
		return identity{}, err
	}
	size := min(usize, gsize)
	if err := os.MkdirAll(leaseDir, 0o700); err != nil {
		return identity{}, fmt.Errorf("local backend: lease a bottle id: %w", err)
	}
	h := fnv.New32a()
	h.Write([]byte(bottleID))
	first := int(h.Sum32() % uint32(size))
	for i := 0; i < size; i++ {
		k := (first + i) % size
		f, err := os.OpenFile(filepath.Join(leaseDir, strconv.Itoa(ustart+k)), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return identity{}, fmt.Errorf("local backend: lease a bottle id: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				continue
			}
			return identity{}, fmt.Errorf("local backend: lease a bottle id: %w", err)
		}
		return identity{uid: ustart + k, gid: gstart + k, rootOwner: true, idmap: true, lease: f}, nil
	}
	return identity{}, fmt.Errorf("local backend: all %d ids of root's range are in use by running bottles", size)
}

// subRange returns root's first range in an /etc/subuid-style file, or
// the fixed range when the file gives root none.
func subRange(path string) (start, size int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fixedRangeStart, fixedRangeSize, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("local backend: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		name, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if name != "root" && name != "0" {
			continue
		}
		s, n, _ := strings.Cut(rest, ":")
		start, err1 := strconv.Atoi(s)
		size, err2 := strconv.Atoi(n)
		if err1 != nil || err2 != nil || size <= 0 {
			return 0, 0, fmt.Errorf("local backend: %s:%d: want root:START:COUNT", path, line)
		}
		if start <= 0 || start+size > 1<<32-1 {
			return 0, 0, fmt.Errorf("local backend: %s:%d: root's range %d+%d includes uid 0 or is out of bounds: a bottle's root must never be host root", path, line, start, size)
		}
		return start, size, nil
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("local backend: %s: %w", path, err)
	}
	return fixedRangeStart, fixedRangeSize, nil
}
