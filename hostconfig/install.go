package hostconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

// maxConfigSize bounds the file Install reads; ~/.claude.json, which
// Claude Code also uses for its own state, runs to a few MiB.
const maxConfigSize = 64 << 20

// newFileMode is the mode of a file Install creates: a user's client
// config, readable by nobody else.
const newFileMode = 0o600

// Result says what Install did.
type Result struct {
	// Path is the file written or found up to date (a symlink resolved
	// to its target, which is what gets rewritten).
	Path string
	// Created reports a file that did not exist; Changed one whose bytes
	// changed. Neither means it already held this entry.
	Created, Changed bool
}

// Render returns the document holding only the server's entry, as the
// client reads it.
func Render(c Client, s Server) []byte {
	if c == Codex {
		return CodexTOML(s)
	}
	return ClaudeJSON(s)
}

// Merge merges the server's entry into the client's document src.
func Merge(c Client, src []byte, s Server) ([]byte, error) {
	switch c {
	case Claude:
		return mergeJSON(src, claudeEntry(s))
	case Codex:
		return mergeTOML(src, codexLines(s), codexDefaults())
	}
	return nil, fmt.Errorf("unknown client %q", c)
}

// Install merges the server's entry into the client's file at path and
// writes it atomically with its mode unchanged. A file that does not
// parse, or whose entry has a shape a splice cannot handle, is refused
// with its position and left alone; installing what is already there
// writes nothing.
func Install(c Client, path string, s Server) (Result, error) {
	real, err := resolve(path)
	if err != nil {
		return Result{}, err
	}
	res := Result{Path: real}
	for attempt := 0; ; attempt++ {
		src, mode, err := readConfig(real)
		if err != nil {
			return res, err
		}
		res.Created = src == nil
		out, err := Merge(c, src, s)
		if err != nil {
			var pe *PosError
			if errors.As(err, &pe) {
				return res, fmt.Errorf("%s:%w; not writing it", real, err)
			}
			return res, fmt.Errorf("%s: %w", real, err)
		}
		if src != nil && bytes.Equal(out, src) {
			return res, nil
		}
		if res.Created {
			if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
				return res, fmt.Errorf("install into %s: %w", real, err)
			}
		}
		// The client may rewrite its file while we merge (Claude Code
		// keeps state in ~/.claude.json): merge again from what is there
		// now rather than overwrite its change.
		if now, _, err := readConfig(real); err == nil && !bytes.Equal(now, src) {
			if attempt < 3 {
				continue
			}
			return res, fmt.Errorf("%s keeps changing while bot-bottle merges into it; close the client and try again", real)
		}
		if err := atomicfile.Write(real, out, mode); err != nil {
			return res, fmt.Errorf("install into %s: %w", real, err)
		}
		res.Changed = true
		return res, nil
	}
}

// resolve follows a symlinked config file (dotfile managers link them) to
// the file that is rewritten, so the link survives.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("config file %s: %w", path, err)
	}
	fi, err := os.Lstat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return abs, nil
	}
	if err != nil {
		return "", fmt.Errorf("config file %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return abs, nil
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("config file %s is a symlink to nowhere: %w", path, err)
	}
	return real, nil
}

// readConfig returns the file's bytes and mode; nil bytes for a file that
// does not exist (an empty one is empty, not nil).
func readConfig(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newFileMode, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("config file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("config file %s is not a regular file", path)
	}
	if fi.Size() > maxConfigSize {
		return nil, 0, fmt.Errorf("config file %s is larger than %d MiB; not a client config", path, maxConfigSize>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("config file %s: %w", path, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, fi.Mode().Perm(), nil
}
