package docker

import (
	"fmt"
	"os"
	osuser "os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// nobody is the user of a root owner's bottle when neither the workdir
// nor the image names another.
const nobody = 65534

// runAs is who a bottle's container runs as: never root. Run as root, the
// agent could leave a setuid-root file in the bind-mounted workdir for any
// host user to run.
type runAs struct {
	uid, gid int
	// idmap: the workdir is root's, mounted (by the root owner) idmapped
	// so that the container's user writes files that stay root's on disk.
	idmap bool
}

func (r runAs) String() string { return strconv.Itoa(r.uid) + ":" + strconv.Itoa(r.gid) }

// containerUser chooses the container's user:
//   - the workdir's owner when that is a user: the files the agent writes
//     are theirs, as when they edit the project themselves;
//   - else the launching user when that is not root;
//   - else (root, in a root-owned workdir) the image's numeric non-root
//     USER, or nobody, with the workdir idmapped so its files stay root's.
func containerUser(workdir, imageUser string) (runAs, error) {
	var st unix.Stat_t
	if err := unix.Stat(workdir, &st); err != nil {
		return runAs{}, fmt.Errorf("workdir %s: %w", workdir, err)
	}
	if st.Uid != 0 {
		return runAs{uid: int(st.Uid), gid: userGroup(st.Uid, st.Gid)}, nil
	}
	if os.Getuid() != 0 {
		return runAs{uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	r := runAs{uid: nobody, gid: nobody, idmap: true}
	name, group, _ := strings.Cut(imageUser, ":")
	if u, err := strconv.Atoi(name); err == nil && u > 0 {
		r.uid, r.gid = u, u
		if g, err := strconv.Atoi(group); err == nil && g > 0 {
			r.gid = g
		}
	}
	return r, nil
}

// userGroup is the group of a user's workdir, or the user's own when the
// workdir's group is root's, or nogroup: never gid 0.
func userGroup(uid, gid uint32) int {
	if gid != 0 {
		return int(gid)
	}
	if u, err := osuser.LookupId(strconv.Itoa(int(uid))); err == nil {
		if g, err := strconv.Atoi(u.Gid); err == nil && g != 0 {
			return g
		}
	}
	return nobody
}
