package planner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// HomeEnv is the environment variable that relocates the bot-bottle home.
const HomeEnv = "BOT_BOTTLE_HOME"

// DefaultHome returns the bot-bottle home for an environment: $BOT_BOTTLE_HOME
// when set, else ~/.bot-bottle.
func DefaultHome(env map[string]string) (string, error) {
	if h := env[HomeEnv]; h != "" {
		return filepath.Abs(h)
	}
	if h := env["HOME"]; h != "" {
		return filepath.Join(h, ".bot-bottle"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the bot-bottle home: set %s or HOME: %w", HomeEnv, err)
	}
	return filepath.Join(h, ".bot-bottle"), nil
}

// BottlesDir is where a home keeps its bottles.
func BottlesDir(home string) string { return filepath.Join(home, "bottles") }

// ErrBottleNotFound is returned (wrapped) when no file in the bottles folder
// has the requested name.
var ErrBottleNotFound = errors.New("not found")

// findBottle returns the path of the bottle called name in dir, trying each
// of schemas.BottleExtensions. Two files with the same name and different
// endings are ambiguous and refused.
func findBottle(dir, name string) (string, error) {
	if why := schemas.CheckBottleName(name); why != "" {
		return "", fmt.Errorf("bottle %q: %s", name, why)
	}
	var found []string
	for _, ext := range schemas.BottleExtensions {
		p := filepath.Join(dir, name+ext)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			found = append(found, p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("bottle %q: %w", name, err)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("bottle %q: %w in %s (have: %s)", name, ErrBottleNotFound, dir, strings.Join(ListBottles(dir), ", "))
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("bottle %q is ambiguous: %s", name, strings.Join(found, " and "))
	}
}

// ListBottles returns the names of the bottles in dir, sorted; "none" when
// there are none, so it reads well in an error.
func ListBottles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{"none"}
	}
	var names []string
	seen := map[string]bool{}
	for _, e := range entries {
		for _, ext := range schemas.BottleExtensions {
			if n, ok := strings.CutSuffix(e.Name(), ext); ok && !e.IsDir() && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// strayBottleDirs walks from dir up to the file system root and returns every
// folder called bottles that is not the home's own: places a repository might
// try to declare bottles in, which bot-bottle ignores.
func strayBottleDirs(dir, home string) []string {
	if dir == "" {
		return nil
	}
	own := filepath.Clean(BottlesDir(home))
	var stray []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "bottles")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && p != own {
			stray = append(stray, p)
		}
		if filepath.Dir(d) == d {
			return stray
		}
	}
}
