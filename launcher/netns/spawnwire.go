package netns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"syscall"

	"golang.org/x/sys/unix"
)

// The spawner's wire: one JSON message per SOCK_SEQPACKET packet, its
// descriptors beside it (SCM_RIGHTS). The socket pair is made by the owner
// and the spawner inherits its end as a descriptor, so no path names it
// and nothing but its owner can ask it for anything.

// maxSpawnFDs bounds the descriptors of one request: stdio, the init's
// extra files and a cgroup (the kernel takes at most 253 per message).
const maxSpawnFDs = 64

// maxSpawnMsg bounds one message; a request carries no environment (the
// init's is in its config), so it is small.
const maxSpawnMsg = 1 << 16

// spawnRequest asks the spawner to start one bottle init. Its descriptors
// travel beside it in this order: stdin, stdout, stderr, the Extra extra
// files (fd 3 onwards in the init), then the cgroup's when
// Attr.UseCgroupFD.
type spawnRequest struct {
	Seq   uint64    `json:"seq"`
	Path  string    `json:"path"`
	Args  []string  `json:"args"`
	Env   []string  `json:"env"`
	Dir   string    `json:"dir"`
	Extra int       `json:"extra"`
	Attr  spawnAttr `json:"attr"`
}

// spawnAttr is the part of syscall.SysProcAttr a bottle init uses: its
// namespaces, identity, parent-death signal and cgroup. toSpawnAttr
// refuses any other field, so the spawner never starts an init with less
// than it was asked for.
type spawnAttr struct {
	Cloneflags                 uintptr                `json:"cloneflags"`
	UidMappings                []syscall.SysProcIDMap `json:"uid_mappings"`
	GidMappings                []syscall.SysProcIDMap `json:"gid_mappings"`
	GidMappingsEnableSetgroups bool                   `json:"gid_mappings_enable_setgroups"`
	Credential                 *syscall.Credential    `json:"credential,omitempty"`
	Pdeathsig                  syscall.Signal         `json:"pdeathsig"`
	UseCgroupFD                bool                   `json:"use_cgroup_fd"`
}

// spawnReply answers a request twice: once started (Pid, with the init's
// pidfd beside it) or refused (Err), then, when the init has exited and
// the spawner reaped it, its wait status (Exited).
type spawnReply struct {
	Seq    uint64 `json:"seq"`
	Pid    int    `json:"pid,omitempty"`
	Err    string `json:"err,omitempty"`
	Exited bool   `json:"exited,omitempty"`
	Status uint32 `json:"status,omitempty"`
	// WaitErr says why an exited init's status is unknown (the
	// spawner's wait for it failed; it was killed to be sure it ended).
	WaitErr string `json:"wait_err,omitempty"`
}

// toSpawnAttr copies a's fields into the wire form, refusing what the wire
// cannot carry (the cgroup descriptor goes beside the message).
func toSpawnAttr(a *syscall.SysProcAttr) (spawnAttr, error) {
	if a == nil {
		return spawnAttr{}, errors.New("bottle spawner: the init has no process attributes")
	}
	rest := *a
	out := spawnAttr{Cloneflags: a.Cloneflags, UidMappings: a.UidMappings, GidMappings: a.GidMappings,
		GidMappingsEnableSetgroups: a.GidMappingsEnableSetgroups, Credential: a.Credential,
		Pdeathsig: a.Pdeathsig, UseCgroupFD: a.UseCgroupFD}
	rest.Cloneflags, rest.UidMappings, rest.GidMappings = 0, nil, nil
	rest.GidMappingsEnableSetgroups, rest.Credential, rest.Pdeathsig = false, nil, 0
	rest.UseCgroupFD, rest.CgroupFD = false, 0
	if !isZeroAttr(&rest) {
		return spawnAttr{}, fmt.Errorf("bottle spawner: the init's process attributes have a field the spawner does not carry: %+v", rest)
	}
	return out, nil
}

func isZeroAttr(a *syscall.SysProcAttr) bool { return reflect.DeepEqual(*a, syscall.SysProcAttr{}) }

// sysProcAttr is the spawner's side of toSpawnAttr.
func (s spawnAttr) sysProcAttr(cgroupFD int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Cloneflags: s.Cloneflags, UidMappings: s.UidMappings, GidMappings: s.GidMappings,
		GidMappingsEnableSetgroups: s.GidMappingsEnableSetgroups, Credential: s.Credential,
		Pdeathsig: s.Pdeathsig, UseCgroupFD: s.UseCgroupFD, CgroupFD: cgroupFD}
}

// writeSpawnMsg sends v with fds beside it.
func writeSpawnMsg(c *net.UnixConn, v any, fds []int) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > maxSpawnMsg {
		return fmt.Errorf("bottle spawner: message of %d bytes is over the %d a message may have", len(data), maxSpawnMsg)
	}
	if len(fds) > maxSpawnFDs {
		return fmt.Errorf("bottle spawner: %d descriptors are over the %d a message may carry", len(fds), maxSpawnFDs)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, oobn, err := c.WriteMsgUnix(data, oob, nil)
	if err != nil {
		return err
	}
	if n != len(data) || oobn != len(oob) {
		return fmt.Errorf("bottle spawner: short write (%d of %d bytes)", n, len(data))
	}
	return nil
}

// readSpawnMsg receives one message into v and the descriptors beside it
// (close-on-exec: the net package receives with MSG_CMSG_CLOEXEC). A
// message or its descriptors cut short by the kernel is an error, and
// whatever descriptors did arrive are closed.
func readSpawnMsg(c *net.UnixConn, v any) ([]*os.File, error) {
	buf := make([]byte, maxSpawnMsg+1)
	oob := make([]byte, unix.CmsgSpace(4*maxSpawnFDs))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	switch {
	case ferr != nil:
		closeAll()
		return nil, badSpawnMsg{ferr}
	case n == 0 && oobn == 0:
		return nil, io.EOF
	case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n > maxSpawnMsg:
		closeAll()
		return nil, badSpawnMsg{errors.New("bottle spawner: a message or its descriptors were cut short")}
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		closeAll()
		return nil, badSpawnMsg{fmt.Errorf("bottle spawner: bad message: %w", err)}
	}
	return files, nil
}

// badSpawnMsg is a message that arrived but cannot be read; any other
// error of readSpawnMsg is the end of the socket.
type badSpawnMsg struct{ error }

func (b badSpawnMsg) Unwrap() error { return b.error }

// isBadSpawnMsg says whether err is a bad message rather than the end.
func isBadSpawnMsg(err error) bool {
	var b badSpawnMsg
	return errors.As(err, &b)
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("bottle spawner: control message: %w", err)
	}
	var files []*os.File
	var bad error
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			bad = fmt.Errorf("bottle spawner: control message: %w", err)
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	if bad != nil {
		for _, f := range files {
			_ = f.Close()
		}
		return nil, bad
	}
	return files, nil
}
