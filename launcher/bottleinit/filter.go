package bottleinit

// Filter says what the command's seccomp filter refuses.
type Filter struct {
	// Setid refuses setuid and setgid mode bits, and the ways around the
	// check (openat2's mode in a struct, io_uring's own open).
	Setid bool `json:"setid,omitempty"`
	// Xattr refuses setting extended attributes, with EOPNOTSUPP so that
	// copying tools carry on as on a filesystem without them.
	Xattr bool `json:"xattr,omitempty"`
}
