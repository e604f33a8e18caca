//go:build linux && amd64

package bottleinit

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data as a little-endian kernel lays it
// out, for x/net/bpf's VM, whose word loads are big-endian where the
// kernel's are native: each 32-bit word is stored big-endian at the offset
// the kernel would load it from (an argument's low half first).
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

func TestFilterProgram(t *testing.T) {
	f := Filter{Setid: true, Xattr: true, Kernel: true}
	tables, err := f.tables()
	if err != nil {
		t.Fatal(err)
	}
	insns, err := f.program(tables)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	const x64, i386 = unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	errno := func(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }
	cases := []struct {
		name string
		in   []byte
		want uint32
	}{
		{"chmod 0755", seccompData(x64, unix.SYS_CHMOD, 0, 0o755), allow},
		{"chmod 4755", seccompData(x64, unix.SYS_CHMOD, 0, 0o4755), errno(unix.EPERM)},
		{"fchmod 2755", seccompData(x64, unix.SYS_FCHMOD, 3, 0o2755), errno(unix.EPERM)},
		{"fchmodat 6755", seccompData(x64, unix.SYS_FCHMODAT, 3, 0, 0o6755), errno(unix.EPERM)},
		{"fchmodat2 4755", seccompData(x64, unix.SYS_FCHMODAT2, 3, 0, 0o4755, 0), errno(unix.EPERM)},
		{"fchmodat 0644 high bits", seccompData(x64, unix.SYS_FCHMODAT, 3, 0, 0xffff_ffff<<32|0o644), allow},
		{"openat create 4755", seccompData(x64, unix.SYS_OPENAT, 3, 0, unix.O_CREAT|unix.O_WRONLY, 0o4755), errno(unix.EPERM)},
		{"openat tmpfile 2755", seccompData(x64, unix.SYS_OPENAT, 3, 0, unix.O_TMPFILE|unix.O_RDWR, 0o2755), errno(unix.EPERM)},
		{"openat read, junk mode", seccompData(x64, unix.SYS_OPENAT, 3, 0, unix.O_RDONLY, 0o7777), allow},
		{"openat create 0644", seccompData(x64, unix.SYS_OPENAT, 3, 0, unix.O_CREAT|unix.O_WRONLY, 0o644), allow},
		{"open create 4755", seccompData(x64, unix.SYS_OPEN, 0, unix.O_CREAT, 0o4755), errno(unix.EPERM)},
		{"creat 4755", seccompData(x64, unix.SYS_CREAT, 0, 0o4755), errno(unix.EPERM)},
		{"mknodat 4755", seccompData(x64, unix.SYS_MKNODAT, 3, 0, unix.S_IFREG|0o4755, 0), errno(unix.EPERM)},
		{"openat2", seccompData(x64, unix.SYS_OPENAT2, 3, 0, 0, 24), errno(unix.ENOSYS)},
		{"io_uring_setup", seccompData(x64, unix.SYS_IO_URING_SETUP, 8, 0), errno(unix.ENOSYS)},
		{"setxattr", seccompData(x64, unix.SYS_SETXATTR), errno(unix.EOPNOTSUPP)},
		{"fsetxattr", seccompData(x64, unix.SYS_FSETXATTR), errno(unix.EOPNOTSUPP)},
		{"getxattr", seccompData(x64, unix.SYS_GETXATTR), allow},
		{"write", seccompData(x64, unix.SYS_WRITE, 1, 0, 10), allow},
		{"keyctl", seccompData(x64, unix.SYS_KEYCTL, 0, 0xffff_fffc), errno(unix.ENOSYS)},
		{"add_key", seccompData(x64, unix.SYS_ADD_KEY), errno(unix.ENOSYS)},
		{"bpf", seccompData(x64, unix.SYS_BPF), errno(unix.ENOSYS)},
		{"userfaultfd", seccompData(x64, unix.SYS_USERFAULTFD), errno(unix.ENOSYS)},
		{"perf_event_open", seccompData(x64, unix.SYS_PERF_EVENT_OPEN), errno(unix.ENOSYS)},
		{"i386 keyctl", seccompData(i386, 288), errno(unix.ENOSYS)},
		{"i386 userfaultfd", seccompData(i386, 374), errno(unix.ENOSYS)},
		{"x32 chmod", seccompData(x64, 0x40000000|unix.SYS_CHMOD, 0, 0o4755), errno(unix.ENOSYS)},
		{"i386 chmod 4755", seccompData(i386, 15, 0, 0o4755), errno(unix.EPERM)},
		{"i386 chmod 0755", seccompData(i386, 15, 0, 0o755), allow},
		{"i386 fsetxattr", seccompData(i386, 228), errno(unix.EOPNOTSUPP)},
		{"unknown arch", seccompData(unix.AUDIT_ARCH_ARM, 15, 0, 0o755), errno(unix.ENOSYS)},
	}
	for _, c := range cases {
		got, err := vm.Run(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if uint32(got) != c.want {
			t.Errorf("%s: filter returns %#x, want %#x", c.name, got, c.want)
		}
	}
	// Without Xattr, extended attributes pass.
	noX := Filter{Setid: true}
	tables, _ = noX.tables()
	insns, _ = noX.program(tables)
	vm, _ = bpf.NewVM(insns)
	if got, _ := vm.Run(seccompData(x64, unix.SYS_SETXATTR)); uint32(got) != allow {
		t.Errorf("setxattr without Xattr: %#x", got)
	}
}
