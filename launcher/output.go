package launcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// DefaultLogLimit bounds output.log; past it the log is rotated to
// output.log.1 (replacing the previous one), so a bottle keeps at most
// twice the limit of its latest output.
const DefaultLogLimit = 8 << 20

// outputLog is the command's output as the owner tees it, stored as line
// records (see logrecord.go). Writes never fail the command: an error is
// remembered and later writes are dropped.
type outputLog struct {
	mu    sync.Mutex
	path  string
	limit int64
	f     *os.File
	size  int64
	err   error
	now   func() time.Time
	// seq is the current line's number; midLine says its '\n' has not
	// come yet.
	seq     uint64
	midLine bool
	rec     []byte // reused record buffer
}

func openOutputLog(path string, limit int64) (*outputLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("output log: %w", err)
	}
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	return &outputLog{path: path, limit: limit, f: f, now: time.Now}, nil
}

// Write appends p as records, rotating first when they would take the log
// past its limit.
func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil || l.f == nil || len(p) == 0 {
		return len(p), nil
	}
	now := l.now()
	rec := l.rec[:0]
	for rest := p; len(rest) > 0; {
		if !l.midLine {
			l.seq++
			rec = appendLogPrefix(rec, now, l.seq)
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			rec = append(rec, rest...)
			l.midLine = true
			break
		}
		rec = append(rec, rest[:i+1]...)
		rest = rest[i+1:]
		l.midLine = false
	}
	if l.size > 0 && l.size+int64(len(rec)) > l.limit {
		l.rotate()
		if l.f == nil {
			return len(p), nil
		}
		rec = l.recontinue(rec, now)
	}
	n, err := l.f.Write(rec)
	l.size += int64(n)
	if err != nil {
		l.err = err
	}
	l.rec = rec[:0]
	return len(p), nil
}

// recontinue gives rec, made for the file before a rotation, the
// continuation record a fresh file needs when rec begins in the middle of a
// line.
func (l *outputLog) recontinue(rec []byte, now time.Time) []byte {
	if _, _, n := parseLogPrefix(rec); n > 0 {
		return rec
	}
	seq := l.seq
	if i := bytes.IndexByte(rec, '\n'); i >= 0 && i+1 < len(rec) {
		// rec holds the end of the current line and then new lines, whose
		// numbers run up to l.seq.
		if _, first, n := parseLogPrefix(rec[i+1:]); n > 0 {
			seq = first - 1
		}
	}
	return append(appendLogPrefix(nil, now, seq), rec...)
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

// readLog returns the lines of a run folder's output: output.log.1 then
// output.log.
func readLog(rd RunDir) ([]LogLine, error) {
	var files [][]byte
	for _, p := range []string{rd.OutputLog() + ".1", rd.OutputLog()} {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read output: %w", err)
		}
		files = append(files, data)
	}
	return parseLog(files...), nil
}
