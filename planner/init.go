package planner

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

//go:embed bottles/*.md
var exampleBottles embed.FS

//go:embed examples
var exampleFiles embed.FS

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

// ExampleFiles returns everything `bot-bottle init` writes, by path
// relative to the home: the example bottles, an example agent and the
// skill it uses.
func ExampleFiles() map[string][]byte {
	out := map[string][]byte{}
	for n, b := range ExampleBottles() {
		out["bottles/"+n] = b
	}
	_ = fs.WalkDir(exampleFiles, "examples", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := exampleFiles.ReadFile(p)
			out[strings.TrimPrefix(p, "examples/")] = b
		}
		return err
	})
	return out
}

// InitResult says what Init did with each example file, by path.
type InitResult struct {
	Wrote     []string // missing, now written
	Rewrote   []string // present, replaced (force)
	Unchanged []string // present, left alone
}

// Init writes the example files (ExampleFiles: bottles, an agent, a skill)
// that are missing from home, creating their folders with mode 0700, and
// leaves the ones present alone; with force it rewrites those too
// (atomically: a reader never sees half a file). A file that is not a
// regular file (a symlink, a folder) is never written through.
func Init(home string, force bool) (InitResult, error) {
	var res InitResult
	files := ExampleFiles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(home, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return res, fmt.Errorf("init %s: %w", filepath.Dir(p), err)
		}
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
