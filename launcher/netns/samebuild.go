package netns

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// buildPair is set at link time to a random value that bot-bottle and its
// companion share when scripts/build.sh builds them together
// (-X github.com/bot-bottle/bot-bottle/launcher/netns.buildPair=...): it
// proves they come from one build of one tree where nothing else can (a
// build outside a clean checkout, or with -buildvcs=false, records no
// revision).
var buildPair string

// minBuildPair is the shortest buildPair taken as a nonce rather than a
// fixed word anyone could repeat.
const minBuildPair = 16

// selfBuild is the build information of this process's binary.
var selfBuild = sync.OnceValue(func() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
})

// sameBuild returns nil when companion is cmd/bot-bottle-init built from
// the very source, dependencies, toolchain and flags self was, and says
// what differs otherwise. The init reads a configuration only its own
// build's launcher writes and carries the boundary's logic: an init from
// an older build beside a newer bot-bottle (a partial upgrade) could run a
// bottle with a protection it does not know, so anything short of proof
// means "start bot-bottle itself instead", which is always right.
func sameBuild(self, companion *debug.BuildInfo, pair string) error {
	if self == nil || companion == nil {
		return errors.New("no build information")
	}
	if want := self.Main.Path + "/cmd/" + launcher.InitBinaryName; companion.Path != want {
		return fmt.Errorf("it is %q, not %s", companion.Path, want)
	}
	if companion.Main != self.Main {
		return fmt.Errorf("it is module %s %s, this is %s %s", companion.Main.Path, companion.Main.Version, self.Main.Path, self.Main.Version)
	}
	if companion.GoVersion != self.GoVersion {
		return fmt.Errorf("it was built with %s, this with %s", companion.GoVersion, self.GoVersion)
	}
	for _, d := range companion.Deps {
		i := slices.IndexFunc(self.Deps, func(s *debug.Module) bool { return s.Path == d.Path })
		if i < 0 || !sameModule(self.Deps[i], d) {
			return fmt.Errorf("it was built with %s %s, which this build has not", d.Path, d.Version)
		}
	}
	if len(companion.Settings) != len(self.Settings) {
		return errors.New("it was built with other settings")
	}
	for i, s := range self.Settings {
		if companion.Settings[i] != s {
			return fmt.Errorf("it was built with %s=%q, this with %q", s.Key, companion.Settings[i].Value, s.Value)
		}
	}
	if !pinned(self, pair) {
		return errors.New("this build records nothing that tells its source apart (no module checksum, no clean VCS revision, no build pair from scripts/build.sh)")
	}
	return nil
}

func sameModule(a, b *debug.Module) bool {
	if a.Path != b.Path || a.Version != b.Version || a.Sum != b.Sum || (a.Replace == nil) != (b.Replace == nil) {
		return false
	}
	return a.Replace == nil || sameModule(a.Replace, b.Replace)
}

// pinned reports whether bi's build information identifies its source: a
// module version with its checksum (go install ...@version), a VCS
// revision with no change beside it, or the build pair pair, linked in by
// the -ldflags bi records (equal settings then mean an equal pair).
func pinned(bi *debug.BuildInfo, pair string) bool {
	if bi.Main.Sum != "" {
		return true
	}
	var rev, modified, ldflags string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "-ldflags":
			ldflags = s.Value
		}
	}
	if rev != "" && modified == "false" {
		return true
	}
	return len(pair) >= minBuildPair && strings.Contains(ldflags, buildPairFlag+"="+pair)
}

// buildPairFlag is the -X that sets buildPair.
const buildPairFlag = "github.com/bot-bottle/bot-bottle/launcher/netns.buildPair"

// readBuild reads the build information of the binary open as f.
func readBuild(f *os.File) (*debug.BuildInfo, error) {
	bi, err := buildinfo.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return bi, nil
}
