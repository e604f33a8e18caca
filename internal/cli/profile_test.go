package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// With BOT_BOTTLE_CPUPROFILE_DIR set, a command leaves a CPU profile named
// by its role and pid that pprof reads; a folder that is not there is a
// warning and the command still runs.
func TestCPUProfileDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ProfileDirEnv, dir)
	var out, errb bytes.Buffer
	if code := Run([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("version: exit %d: %s", code, errb.String())
	}
	path := filepath.Join(dir, "version-"+strconv.Itoa(os.Getpid())+".pprof")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no profile: %v (stderr %q)", err, errb.String())
	}
	defer f.Close()
	// A pprof profile is a gzipped protocol buffer.
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile %s is not a pprof file: %v", path, err)
	}
	if data, err := io.ReadAll(zr); err != nil || len(data) == 0 {
		t.Fatalf("profile %s: %d bytes, %v", path, len(data), err)
	}
	os.Remove(path)

	t.Setenv(ProfileDirEnv, filepath.Join(dir, "missing"))
	errb.Reset()
	if code := Run([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("version with a missing profile folder: exit %d: %s", code, errb.String())
	}
	if !bytes.Contains(errb.Bytes(), []byte(ProfileDirEnv)) {
		t.Fatalf("a profile folder that is not there is not said: %q", errb.String())
	}
}
