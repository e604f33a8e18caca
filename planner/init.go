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

// Init writes the example bottles into home's bottles folder, creating it
// with mode 0700. It refuses, writing nothing, if any of them already exists.
// It returns the paths it wrote.
func Init(home string) ([]string, error) {
	dir := BottlesDir(home)
	files := ExampleBottles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var exist []string
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			exist = append(exist, filepath.Join(dir, n))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	if len(exist) > 0 {
		return nil, fmt.Errorf("init %s: refusing to overwrite %s", dir, strings.Join(exist, ", "))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	var wrote []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		// O_EXCL: a file that appeared since the check is not overwritten.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return wrote, fmt.Errorf("init %s: %w", p, err)
		}
		_, err = f.Write(files[n])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return wrote, fmt.Errorf("init %s: %w", p, err)
		}
		wrote = append(wrote, p)
	}
	return wrote, nil
}
