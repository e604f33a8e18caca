package mcp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

// TokenFileName is the file in the bot-bottle home where serve --http keeps
// the bearer token it generated.
const TokenFileName = "serve.token"

// TokenPath is the generated token's file in home.
func TokenPath(home string) string { return filepath.Join(home, TokenFileName) }

// minTokenLen keeps guessable tokens out.
const minTokenLen = 16

// ReadToken reads a bearer token from a file only its owner can read
// (like ssh with a private key, it refuses one others could read).
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is readable by others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return CheckToken(strings.TrimSpace(string(data)), "token file "+path)
}

// CheckToken validates a token from where (a file, an environment
// variable): long enough and printable, so it fits an HTTP header.
func CheckToken(tok, where string) (string, error) {
	if len(tok) < minTokenLen {
		return "", fmt.Errorf("%s: the token is shorter than %d characters", where, minTokenLen)
	}
	for _, r := range tok {
		if r <= ' ' || r > '~' {
			return "", fmt.Errorf("%s: the token has a space, a control or a non-ASCII character", where)
		}
	}
	return tok, nil
}

// LoadOrCreateToken reads the token at path, or when there is none yet
// writes a new random one (256 bits, hex) with mode 0600. created reports
// which.
func LoadOrCreateToken(path string) (tok string, created bool, err error) {
	tok, err = ReadToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("new token: %w", err)
	}
	tok = hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("new token: %w", err)
	}
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("new token: %w", err)
	}
	return tok, true, nil
}
