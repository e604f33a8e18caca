package bottleinit

// Filter says what the command's seccomp filter refuses.
type Filter struct {
	// Setid refuses setuid and setgid mode bits, and the ways around the
	// check (openat2's mode in a struct, io_uring's own open).
	Setid bool `json:"setid,omitempty"`
	// Xattr refuses setting extended attributes, with EOPNOTSUPP so that
	// copying tools carry on as on a filesystem without them.
	Xattr bool `json:"xattr,omitempty"`
	// Kernel refuses, with ENOSYS as if this kernel lacked them, the calls
	// that reach kernel state no namespace separates, or that widen the
	// kernel's attack surface for nothing an agent needs, as Docker's
	// default profile refuses them to a container: the keyrings (keyctl,
	// add_key, request_key: a user's Kerberos tickets and other keys live
	// there, per user id), bpf, userfaultfd and perf_event_open.
	Kernel bool `json:"kernel,omitempty"`
}
