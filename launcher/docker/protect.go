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
// Each is bound from source, the host path the workdir itself is bound
// from: for a root owner that is the owner's own mount of the workdir
// (nosuid, nodev, and idmapped to the container's user when root owns the
// workdir), and a bind of a path inside it keeps those flags and that
// mapping, so the container's user owns what it owns in the workdir.
//
// Unlike the local init, the daemon resolves these paths itself: a path
// that another writer swapped for a symlink after the owner checked it
// would be followed. Only a bottle that may write that path anyway (one on
// the same workdir with the path opted in) can race there.
func protectMounts(p *bottleinit.Protect, source string) []mount.Mount {
	if p == nil {
		return nil
	}
	out := make([]mount.Mount, 0, len(p.Paths))
	for _, pp := range p.Paths {
		rel := filepath.FromSlash(pp.Path)
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: filepath.Join(source, rel),
			Target: filepath.Join(p.Root, rel), ReadOnly: pp.ReadOnly})
	}
	return out
}
