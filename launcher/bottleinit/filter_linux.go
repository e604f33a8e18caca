package bottleinit

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A seccomp filter keeps the command from leaving a file behind that the
// host would run with privileges: no setuid or setgid bit (a workdir file
// owned by root on disk, setuid, is root for any host user who runs it),
// and, where the bottle's files are root's on disk, no extended attribute
// (a file capability written through an idmapped workdir is root's on the
// host too). The filter is inherited by everything the command starts and
// cannot be removed; the init itself stays unfiltered.

// setidBits are the mode bits the command may not set.
const setidBits = unix.S_ISUID | unix.S_ISGID

// createFlags are the open flags under which the mode argument is used.
const createFlags = unix.O_CREAT | (unix.O_TMPFILE &^ unix.O_DIRECTORY)

// sysRule is what the filter does with one system call: with modeArg >= 0
// it refuses (EPERM) a mode argument with setidBits, looked at only when
// flagsArg < 0 or the flags argument asks to create; with modeArg < 0 it
// refuses the call outright with errno.
type sysRule struct {
	nr       uint32
	modeArg  int
	flagsArg int
	errno    unix.Errno
}

// archRules are the rules of one system call table.
type archRules struct {
	arch uint32
	// maxNr, when set, refuses every call numbered at or above it: the
	// x32 calls share x86-64's arch value.
	maxNr uint32
	rules []sysRule
}

func modeRule(nr uint32, mode int) sysRule { return sysRule{nr: nr, modeArg: mode, flagsArg: -1} }
func openRule(nr uint32, flags, mode int) sysRule {
	return sysRule{nr: nr, modeArg: mode, flagsArg: flags}
}
func denyRule(nr uint32, errno unix.Errno) sysRule {
	return sysRule{nr: nr, modeArg: -1, flagsArg: -1, errno: errno}
}

// program builds the BPF program for the tables of this architecture.
func (f Filter) program(tables []archRules) ([]bpf.Instruction, error) {
	var prog []bpf.Instruction
	ret := func(v uint32) bpf.Instruction { return bpf.RetConstant{Val: v} }
	allow := ret(unix.SECCOMP_RET_ALLOW)
	errno := func(e unix.Errno) bpf.Instruction { return ret(unix.SECCOMP_RET_ERRNO | uint32(e)) }
	arg := func(i int) bpf.Instruction { return bpf.LoadAbsolute{Off: uint32(16 + 8*i), Size: 4} } // low half, little-endian
	prog = append(prog, bpf.LoadAbsolute{Off: 4, Size: 4})                                         // arch
	for _, t := range tables {
		var body []bpf.Instruction
		body = append(body, bpf.LoadAbsolute{Off: 0, Size: 4}) // nr
		if t.maxNr != 0 {
			body = append(body, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: t.maxNr, SkipFalse: 1}, errno(unix.ENOSYS))
		}
		for _, r := range t.rules {
			var rb []bpf.Instruction
			switch {
			case r.modeArg < 0:
				rb = []bpf.Instruction{errno(r.errno)}
			default:
				if r.flagsArg >= 0 {
					rb = append(rb, arg(r.flagsArg), bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: createFlags, SkipFalse: 3})
				}
				rb = append(rb, arg(r.modeArg), bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: setidBits, SkipFalse: 1}, errno(unix.EPERM), allow)
			}
			body = append(body, bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.nr, SkipFalse: uint8(len(rb))})
			body = append(body, rb...)
		}
		body = append(body, allow)
		if len(body) > 255 {
			return nil, fmt.Errorf("seccomp filter: %d instructions for arch %#x, over a jump's reach", len(body), t.arch)
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: t.arch, SkipFalse: uint8(len(body))})
		prog = append(prog, body...)
	}
	// A call from an architecture without a table could name any of the
	// refused calls by another number: none of them runs.
	prog = append(prog, errno(unix.ENOSYS))
	return prog, nil
}

// rules returns the rules f asks for from one architecture's calls.
func (f Filter) rules(setid, xattr []sysRule) []sysRule {
	var out []sysRule
	if f.Setid {
		out = append(out, setid...)
	}
	if f.Xattr {
		out = append(out, xattr...)
	}
	return out
}

// enabled reports whether f refuses anything.
func (f Filter) enabled() bool { return f.Setid || f.Xattr }

// install sets no_new_privs and the filter on the calling thread only: the
// command is started from that thread, which then dies with its goroutine
// (locked, never unlocked), so the init's other threads stay unfiltered.
func (f Filter) install() error {
	tables, err := f.tables()
	if err != nil {
		return err
	}
	insns, err := f.program(tables)
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp filter: no_new_privs: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp filter: install: %w", e)
	}
	runtime.KeepAlive(filter)
	return nil
}
