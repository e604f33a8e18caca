//go:build linux

package bottleinit

import "golang.org/x/sys/unix"

// tables are x86-64's calls, with x32's refused, and i386's, which a
// 64-bit process can still make (int 0x80).
func (f Filter) tables() ([]archRules, error) {
	return []archRules{
		{arch: unix.AUDIT_ARCH_X86_64, maxNr: 0x40000000, rules: f.rules([]sysRule{
			modeRule(unix.SYS_CHMOD, 1), modeRule(unix.SYS_FCHMOD, 1),
			modeRule(unix.SYS_FCHMODAT, 2), modeRule(unix.SYS_FCHMODAT2, 2),
			modeRule(unix.SYS_CREAT, 1), openRule(unix.SYS_OPEN, 1, 2), openRule(unix.SYS_OPENAT, 2, 3),
			modeRule(unix.SYS_MKNOD, 1), modeRule(unix.SYS_MKNODAT, 2),
			denyRule(unix.SYS_OPENAT2, unix.ENOSYS), denyRule(unix.SYS_IO_URING_SETUP, unix.ENOSYS),
		}, []sysRule{
			denyRule(unix.SYS_SETXATTR, unix.EOPNOTSUPP), denyRule(unix.SYS_LSETXATTR, unix.EOPNOTSUPP),
			denyRule(unix.SYS_FSETXATTR, unix.EOPNOTSUPP), denyRule(unix.SYS_SETXATTRAT, unix.EOPNOTSUPP),
		}, kernelRules(unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_BPF,
			unix.SYS_USERFAULTFD, unix.SYS_PERF_EVENT_OPEN))},
		// i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl).
		{arch: unix.AUDIT_ARCH_I386, rules: f.rules([]sysRule{
			modeRule(15, 1), modeRule(94, 1), modeRule(306, 2), modeRule(452, 2),
			modeRule(8, 1), openRule(5, 1, 2), openRule(295, 2, 3),
			modeRule(14, 1), modeRule(297, 2),
			denyRule(437, unix.ENOSYS), denyRule(425, unix.ENOSYS),
		}, []sysRule{
			denyRule(226, unix.EOPNOTSUPP), denyRule(227, unix.EOPNOTSUPP),
			denyRule(228, unix.EOPNOTSUPP), denyRule(463, unix.EOPNOTSUPP),
		}, kernelRules(288, 286, 287, 357, 374, 336))}, // keyctl, add_key, request_key, bpf, userfaultfd, perf_event_open
	}, nil
}
