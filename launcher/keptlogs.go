package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

// KeptLogs is how many ended bottles' output the home keeps in
// $BOT_BOTTLE_HOME/logs; older ones are removed as new ones arrive.
const KeptLogs = 100

// LogsDir is where the output of ended bottles is kept.
func LogsDir(home string) string { return filepath.Join(home, "logs") }

func keptLogPath(home, id string) string { return filepath.Join(LogsDir(home), id+".log") }

// keepLog copies a bottle's output out of its run folder before the folder
// goes, so `bot-bottle logs ID` still answers after the bottle ended (a
// headless task's answer, a crashed agent's last words). It keeps the
// newest KeptLogs logs.
func keepLog(home, id string, rd RunDir) error {
	lines, err := readLog(rd)
	if err != nil || len(lines) == 0 {
		return err
	}
	data := encodeLog(lines)
	if err := os.MkdirAll(LogsDir(home), 0o700); err != nil {
		return fmt.Errorf("keep output: %w", err)
	}
	if err := atomicfile.Write(keptLogPath(home, id), data, 0o600); err != nil {
		return fmt.Errorf("keep output: %w", err)
	}
	return pruneKeptLogs(home, KeptLogs)
}

// pruneKeptLogs removes all but the newest keep logs.
func pruneKeptLogs(home string, keep int) error {
	entries, err := os.ReadDir(LogsDir(home))
	if err != nil {
		return fmt.Errorf("prune kept output: %w", err)
	}
	type kept struct {
		name string
		mod  int64
	}
	var logs []kept
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			logs = append(logs, kept{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	if len(logs) <= keep {
		return nil
	}
	slices.SortFunc(logs, func(a, b kept) int { return int(b.mod - a.mod) }) // newest first
	var errs []error
	for _, k := range logs[keep:] {
		if err := os.Remove(filepath.Join(LogsDir(home), k.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readKeptLog returns the lines of an ended bottle's kept output.
func readKeptLog(home, id string) ([]LogLine, error) {
	data, err := os.ReadFile(keptLogPath(home, id))
	if err != nil {
		return nil, err
	}
	return parseLog(data), nil
}
