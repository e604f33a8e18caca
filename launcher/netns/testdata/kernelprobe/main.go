// Command kernelprobe makes, from inside a bottle, the system calls that
// reach kernel state no namespace separates, and prints what each
// returned: "NAME ok" or "NAME errno N". It changes nothing that outlives
// it (a key it adds goes to its own process keyring).
package main

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	user, _ := unix.BytePtrFromString("user")
	desc, _ := unix.BytePtrFromString("bot-bottle-probe")
	keySpecUser := -4    // KEY_SPEC_USER_KEYRING
	keySpecProcess := -2 // KEY_SPEC_PROCESS_KEYRING
	calls := []struct {
		name string
		nr   uintptr
		args [3]uintptr
	}{
		{"keyctl", unix.SYS_KEYCTL, [3]uintptr{unix.KEYCTL_GET_KEYRING_ID, uintptr(keySpecUser), 0}},
		{"add_key", unix.SYS_ADD_KEY, [3]uintptr{uintptr(unsafe.Pointer(user)), uintptr(unsafe.Pointer(desc)), 0}},
		{"request_key", unix.SYS_REQUEST_KEY, [3]uintptr{uintptr(unsafe.Pointer(user)), uintptr(unsafe.Pointer(desc)), 0}},
		{"bpf", unix.SYS_BPF, [3]uintptr{unix.BPF_MAP_CREATE, 0, 0}},
		{"userfaultfd", unix.SYS_USERFAULTFD, [3]uintptr{unix.O_CLOEXEC, 0, 0}},
		{"perf_event_open", unix.SYS_PERF_EVENT_OPEN, [3]uintptr{0, 0, ^uintptr(0)}},
	}
	for _, c := range calls {
		var r uintptr
		var errno unix.Errno
		if c.name == "add_key" {
			payload := []byte("x")
			r, _, errno = unix.Syscall6(c.nr, c.args[0], c.args[1], uintptr(unsafe.Pointer(&payload[0])), 1, uintptr(keySpecProcess), 0)
		} else {
			r, _, errno = unix.Syscall(c.nr, c.args[0], c.args[1], c.args[2])
		}
		if errno != 0 {
			fmt.Printf("%s errno %d\n", c.name, int(errno))
			continue
		}
		fmt.Printf("%s ok %d\n", c.name, int(r))
	}
}
