package bottleinit

// Protect describes the workdir paths a bottle cannot write or move
// (launcher/protect.go decides which). Each path is mounted over itself,
// parents first: read-only for a protected path (so it can be neither
// changed, created, deleted, renamed nor replaced, since a mount point
// cannot be unlinked or renamed from inside), read-write for an anchor, a
// folder that holds protected paths and must not be renamed away from
// them (`mv .git .git-old && git init` would otherwise leave the mounts
// behind and start over).
type Protect struct {
	// Root is the workdir, as the bottle sees it (its own path).
	Root string `json:"root"`
	// Paths are relative to Root, parents before children. Every one
	// exists when the bottle starts: the owner created placeholders for
	// the missing ones.
	Paths []ProtectedPath `json:"paths"`
}

// ProtectedPath is one path of Protect.
type ProtectedPath struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}
