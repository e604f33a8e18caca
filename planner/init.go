package planner

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

//go:embed bottles/*.md
var exampleBottles embed.FS

// ExampleBottles returns the bottles `bot-bottle init` writes, by file name.
func ExampleBottles() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := exampleBottles.ReadDir("bottles")
	for _, e := range entries {
		b, _ := exampleBottles.ReadFile("bottles/" + e.Name())
		out[e.Name()] = b
	}
	return out
}

// InitResult says what Init did with each example bottle, by path.
type InitResult struct {
	Wrote     []string // missing, now written
	Rewrote   []string // present, replaced (force)
	Unchanged []string // present, left alone
}

// Init writes the example bottles that are missing from home's bottles
// folder, creating it with mode 0700, and leaves the ones present alone;
// with force it rewrites those too (atomically: a reader never sees half a
// file). A bottle that is not a regular file (a symlink, a folder) is never
// written through.
func Init(home string, force bool) (InitResult, error) {
	var res InitResult
	dir := BottlesDir(home)
	files := ExampleBottles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, fmt.Errorf("init %s: %w", dir, err)
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// O_EXCL: a file that appeared since the check is not overwritten.
			if err := writeNew(p, files[n]); err != nil {
				return res, err
			}
			res.Wrote = append(res.Wrote, p)
		case err != nil:
			return res, fmt.Errorf("init %s: %w", p, err)
		case !force:
			res.Unchanged = append(res.Unchanged, p)
		case !fi.Mode().IsRegular():
			return res, fmt.Errorf("init %s: not a regular file; not rewriting it", p)
		default:
			if err := atomicfile.Write(p, files[n], 0o600); err != nil {
				return res, fmt.Errorf("init %s: %w", p, err)
			}
			res.Rewrote = append(res.Rewrote, p)
		}
	}
	return res, nil
}

func writeNew(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("init %s: %w", p, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("init %s: %w", p, err)
	}
	return nil
}
