package launcher

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// DefaultLogLimit bounds output.log; past it the log is rotated to
// output.log.1 (replacing the previous one), so a bottle keeps at most
// twice the limit of its latest output.
const DefaultLogLimit = 8 << 20

// outputLog is the command's output as the owner tees it. Writes never fail
// the command: an error is remembered and later writes are dropped.
type outputLog struct {
	mu    sync.Mutex
	path  string
	limit int64
	f     *os.File
	size  int64
	err   error
}

func openOutputLog(path string, limit int64) (*outputLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("output log: %w", err)
	}
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	return &outputLog{path: path, limit: limit, f: f}, nil
}

// Write appends p, rotating first when p would take the log past its limit.
func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil || l.f == nil {
		return len(p), nil
	}
	if l.size > 0 && l.size+int64(len(p)) > l.limit {
		l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if err != nil {
		l.err = err
	}
	return len(p), nil
}

func (l *outputLog) rotate() {
	_ = l.f.Close()
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		l.err = err
		l.f = nil
		return
	}
	l.f, l.err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	l.size = 0
}

// Close closes the log file; later writes are dropped.
func (l *outputLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// tee writes to the log and to w (when w is not nil). A failing w does not
// stop the log: the owner's terminal going away must not lose the output.
type tee struct {
	log *outputLog
	w   io.Writer
}

// Write never fails: see tee.
func (t tee) Write(p []byte) (int, error) {
	_, _ = t.log.Write(p)
	if t.w != nil {
		_, _ = t.w.Write(p)
	}
	return len(p), nil
}

// readLog returns up to max bytes of the end of a run folder's output:
// output.log.1 then output.log.
func readLog(rd RunDir, max int64) ([]byte, error) {
	var out []byte
	for _, p := range []string{rd.OutputLog() + ".1", rd.OutputLog()} {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read output: %w", err)
		}
		out = append(out, data...)
	}
	if max > 0 && int64(len(out)) > max {
		out = out[int64(len(out))-max:]
	}
	return out, nil
}
