package netns

import (
	"os"
)

// WithSpawner makes b start its bottles' inits through a spawner: one
// small bot-bottle process (SpawnerCommand), started at the first launch
// and again after it dies, that forks each init from its own small
// address space. For a long-lived owner of many bottles (serve): starting
// an init in a new user namespace is a full fork of its parent (no vfork),
// which costs in proportion to the parent's memory. The isolation is the
// same; the spawner only carries out the start the owner describes.
func (b *Backend) WithSpawner() *Backend {
	b.useSpawner = true
	return b
}

// spawner returns the running spawner (nil without WithSpawner), starting
// one if there is none or it died. It is started after the owner has
// placed itself in its cgroup for the first bottle, so it lives there too.
func (b *Backend) spawner() (*spawner, error) {
	if !b.useSpawner {
		return nil, nil
	}
	b.spawnMu.Lock()
	defer b.spawnMu.Unlock()
	if b.sp != nil && b.sp.alive() {
		return b.sp, nil
	}
	exe := b.exe
	if exe == "" {
		// This very binary, even if an upgrade replaced the file: the
		// spawner must speak this owner's protocol.
		exe = "/proc/self/exe"
	}
	sp, err := startSpawner(exe, os.Stderr)
	if err != nil {
		return nil, err
	}
	b.sp = sp
	return sp, nil
}

// Close ends the spawner, if there is one, once the owner's bottles have
// ended: it exits, and is reaped rather than left to die by its
// parent-death signal when the owner exits.
func (b *Backend) Close() error {
	b.spawnMu.Lock()
	sp := b.sp
	b.sp = nil
	b.spawnMu.Unlock()
	if sp != nil {
		sp.close()
	}
	return nil
}
