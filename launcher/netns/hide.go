package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// manifestHidden resolves the host paths a manifest hides to what the
// bottle would reach through them: the init covers a path, not a name, and
// skips a symlink (its target is hidden or not on its own), so a path that
// passes through a link is hidden at its real place. A path that does not
// exist has nothing to hide. One inside the workdir cannot be hidden (the
// workdir is bound over the hiding mounts, and it is the bottle's to
// write): that is refused, not ignored.
func manifestHidden(paths []string, workdir string) ([]string, error) {
	var out []string
	realWorkdir, err := filepath.EvalSymlinks(workdir)
	if err != nil {
		realWorkdir = workdir
	}
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("local backend: hide %s: %w", schemas.ShowPath(p), err)
		}
		if isHidden(real, []string{realWorkdir}) {
			return nil, fmt.Errorf("local backend: hide %s: it is inside the workdir %s, which the bottle sees whole: launch from a folder that does not hold it, or remove it from hide",
				schemas.ShowPath(p), schemas.ShowPath(workdir))
		}
		out = append(out, real)
	}
	return out, nil
}
