package launcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeptLogsArePruned(t *testing.T) {
	home := t.TempDir()
	for i := 0; i < 7; i++ {
		rd := RunDir{Root: filepath.Join(t.TempDir(), "run")}
		os.MkdirAll(rd.Root, 0o700)
		l, err := openOutputLog(rd.OutputLog(), 80)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(l, "old-%d %s", i, strings.Repeat(".", 60))
		fmt.Fprintf(l, "\nnew-%d", i)
		l.Close()
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
		lines, err := readKeptLog(home, fmt.Sprintf("b-%06d", i))
		if err != nil || string(logText(lines)) != fmt.Sprintf("old-%d %s\nnew-%d", i, strings.Repeat(".", 60), i) {
			t.Errorf("kept log %d = %q, %v", i, logText(lines), err)
		}
	}
	fi, _ := os.Stat(LogsDir(home))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("logs folder mode %v", fi.Mode())
	}
}
