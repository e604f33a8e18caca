package netns

// StopSpawner kills b's spawner, if it has one, so that a test's backend
// leaves no process behind it (its bottles die with it).
func StopSpawner(b *Backend) {
	b.spawnMu.Lock()
	defer b.spawnMu.Unlock()
	if b.sp != nil {
		_ = b.sp.cmd.Process.Kill()
	}
}
