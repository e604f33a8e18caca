//go:build linux

package bottleinit

import "golang.org/x/sys/unix"

// tables are arm64's calls; 32-bit ARM calls get none (ENOSYS).
func (f Filter) tables() ([]archRules, error) {
	return []archRules{
		{arch: unix.AUDIT_ARCH_AARCH64, rules: f.rules([]sysRule{
			modeRule(unix.SYS_FCHMOD, 1), modeRule(unix.SYS_FCHMODAT, 2), modeRule(unix.SYS_FCHMODAT2, 2),
			openRule(unix.SYS_OPENAT, 2, 3), modeRule(unix.SYS_MKNODAT, 2),
			denyRule(unix.SYS_OPENAT2, unix.ENOSYS), denyRule(unix.SYS_IO_URING_SETUP, unix.ENOSYS),
		}, []sysRule{
			denyRule(unix.SYS_SETXATTR, unix.EOPNOTSUPP), denyRule(unix.SYS_LSETXATTR, unix.EOPNOTSUPP),
			denyRule(unix.SYS_FSETXATTR, unix.EOPNOTSUPP), denyRule(unix.SYS_SETXATTRAT, unix.EOPNOTSUPP),
		}, kernelRules(unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_BPF,
			unix.SYS_USERFAULTFD, unix.SYS_PERF_EVENT_OPEN))},
	}, nil
}
