package launcher

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeptLogsArePruned(t *testing.T) {
	home := t.TempDir()
	for i := 0; i < 7; i++ {
		rd := RunDir{Root: filepath.Join(t.TempDir(), "run")}
		os.MkdirAll(rd.Root, 0o700)
		os.WriteFile(rd.OutputLog()+".1", []byte(fmt.Sprintf("old-%d ", i)), 0o600)
		os.WriteFile(rd.OutputLog(), []byte(fmt.Sprintf("new-%d", i)), 0o600)
		id := fmt.Sprintf("b-%06d", i)
		if err := keepLog(home, id, rd); err != nil {
			t.Fatal(err)
		}
		// Distinct modification times, oldest first.
		past := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(keptLogPath(home, id), past, past)
	}
	if err := pruneKeptLogs(home, 3); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(LogsDir(home))
	if len(entries) != 3 {
		t.Fatalf("%d kept, want 3", len(entries))
	}
	for _, i := range []int{4, 5, 6} {
		data, err := readKeptLog(home, fmt.Sprintf("b-%06d", i), 0)
		if err != nil || string(data) != fmt.Sprintf("old-%d new-%d", i, i) {
			t.Errorf("kept log %d = %q, %v", i, data, err)
		}
	}
	fi, _ := os.Stat(LogsDir(home))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("logs folder mode %v", fi.Mode())
	}
}
