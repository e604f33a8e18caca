package docker

import (
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/moby/moby/api/types/mount"
)

// protectMounts turns the workdir's protected paths into binds of each
// path over itself inside the workdir's bind: read-only for a protected
// path, read-write for an anchor. The daemon mounts them parents first
// (it orders mounts by depth). The container has no CAP_SYS_ADMIN and runs
// under the daemon's seccomp profile, so nothing inside can unmount or
// remount them, and a mount point cannot be renamed or removed (EBUSY).
//
// Unlike the local init, the daemon resolves these paths itself: a path
// that another writer swapped for a symlink after the owner checked it
// would be followed. Only a bottle that may write that path anyway (one on
// the same workdir with the path opted in) can race there.
func protectMounts(p *bottleinit.Protect) []mount.Mount {
	if p == nil {
		return nil
	}
	out := make([]mount.Mount, 0, len(p.Paths))
	for _, pp := range p.Paths {
		abs := filepath.Join(p.Root, filepath.FromSlash(pp.Path))
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: abs, Target: abs, ReadOnly: pp.ReadOnly})
	}
	return out
}
