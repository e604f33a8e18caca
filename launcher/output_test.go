package launcher

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOutputLogRotatesAndTails(t *testing.T) {
	rd := RunDir{Root: t.TempDir()}
	l, err := openOutputLog(rd.OutputLog(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := 0; i < 160; i++ {
		line := []byte{byte('a' + i%26), '\n'}
		want.Write(line)
		if _, err := (tee{log: l}).Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rd.OutputLog(), rd.OutputLog() + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if fi.Size() > 100 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: size %d mode %v; want at most the limit, mode 0600", filepath.Base(p), fi.Size(), fi.Mode())
		}
	}
	all, err := readLog(rd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(want.Bytes(), all) || len(all) < 100 {
		t.Errorf("readLog = %q: want the latest output, in order, at least one full file", all)
	}
	tail, _ := readLog(rd, 10)
	if !bytes.Equal(tail, want.Bytes()[want.Len()-10:]) {
		t.Errorf("readLog tail 10 = %q", tail)
	}
}
