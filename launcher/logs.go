package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// LogOptions selects and formats lines of a bottle's output.
type LogOptions struct {
	// Tail keeps only the last Tail lines; negative keeps all.
	Tail int
	// Since keeps only the lines begun at or after it (zero: all).
	Since time.Time
	// Timestamps prefixes each line with when it began (RFC 3339, UTC).
	Timestamps bool
	// MaxBytes keeps only the end of the result (0: all).
	MaxBytes int64
}

// Logs returns a bottle's output, selected by o: while it runs, as its
// owner tees it into the run folder; after it ended, as kept in
// $BOT_BOTTLE_HOME/logs (the newest KeptLogs bottles).
func (l *Launcher) Logs(ctx context.Context, id string, o LogOptions) ([]byte, error) {
	lines, err := l.logLines(ctx, id)
	if err != nil {
		return nil, err
	}
	return renderLog(lines, o), nil
}

// logLines returns the lines of a bottle's output, wherever they are.
func (l *Launcher) logLines(ctx context.Context, id string) ([]LogLine, error) {
	if why := CheckID(id); why != "" {
		return nil, fmt.Errorf("logs: bottle id %q %s", id, why)
	}
	rd := RunDirOf(l.cfg.Home, id)
	if _, err := os.Stat(rd.Root); errors.Is(err, fs.ErrNotExist) {
		if lines, err := readKeptLog(l.cfg.Home, id); err == nil {
			return lines, nil
		}
		if l.cfg.Registry != nil {
			if in, lerr := l.Lookup(ctx, id); lerr == nil && Terminal(in.State) {
				return nil, fmt.Errorf("logs %s: the bottle has %s and its output is no longer kept (only the newest %d are): %w", id, in.State, KeptLogs, ErrNotRunning)
			}
		}
		return nil, fmt.Errorf("logs %s: %w", id, ErrUnknownBottle)
	}
	return readLog(rd)
}

// renderLog selects lines by o and writes them out.
func renderLog(lines []LogLine, o LogOptions) []byte {
	if !o.Since.IsZero() {
		first := len(lines)
		for i, ln := range lines {
			if !ln.At.Before(o.Since) {
				first = i
				break
			}
		}
		lines = lines[first:]
	}
	if o.Tail >= 0 && len(lines) > o.Tail {
		lines = lines[len(lines)-o.Tail:]
	}
	var out []byte
	for _, ln := range lines {
		out = appendLine(out, ln.At, ln.Text, o.Timestamps)
	}
	if o.MaxBytes > 0 && int64(len(out)) > o.MaxBytes {
		out = out[int64(len(out))-o.MaxBytes:]
	}
	return out
}

// appendLine appends a line (or the first piece of one) as logs prints it.
func appendLine(out []byte, at time.Time, text []byte, timestamps bool) []byte {
	if timestamps {
		if at.IsZero() {
			out = append(out, "-                              "...)
		} else {
			out = at.UTC().AppendFormat(out, logTimeLayout)
			out = append(out, ' ')
		}
	}
	return append(out, text...)
}

// followPoll is how often Follow looks for new output; a person reading a
// log does not notice a tenth of a second.
const followPoll = 100 * time.Millisecond

// followStateEvery is how many polls pass between looks at the registry
// for a bottle whose owner died without removing its run folder.
const followStateEvery = 20

// Follow writes a bottle's output selected by o to w, then goes on writing
// what the bottle prints until it ends (its run folder is removed, or the
// registry says it has ended or its owner died) or ctx is done. A bottle
// that has already ended is printed whole and Follow returns at once.
func (l *Launcher) Follow(ctx context.Context, id string, o LogOptions, w io.Writer) error {
	lines, err := l.logLines(ctx, id)
	if err != nil {
		return err
	}
	if _, err := w.Write(renderLog(lines, o)); err != nil {
		return err
	}
	rd := RunDirOf(l.cfg.Home, id)
	if _, err := os.Stat(rd.Root); err != nil {
		return nil // ended: the kept log was all of it
	}
	f := &follower{w: w, timestamps: o.Timestamps}
	f.dec.emit = f.write
	if n := len(lines); n > 0 {
		f.dec.done, f.dec.doneLen = lines[n-1].Seq, len(lines[n-1].Text)
	}
	// Read the files from their start: the decoder skips what was printed
	// above, by sequence number. The rotated file first, in case the log
	// rotated since it was read.
	defer f.close()
	if data, err := os.ReadFile(rd.OutputLog() + ".1"); err == nil {
		f.dec.feed(data)
		f.dec.endFile()
	}
	for polls := 0; ; polls++ {
		if err := f.poll(rd.OutputLog()); err != nil {
			return err
		}
		if _, err := os.Stat(rd.Root); err != nil {
			break
		}
		if polls%followStateEvery == followStateEvery-1 && l.cfg.Registry != nil {
			if in, err := l.Lookup(ctx, id); err == nil && (Terminal(in.State) || in.Orphaned) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
	// The bottle ended between two polls: what it printed last is in the
	// file still open, or in the kept copy.
	if err := f.drain(); err != nil {
		return err
	}
	f.dec.endFile()
	if data, err := os.ReadFile(keptLogPath(l.cfg.Home, id)); err == nil {
		f.dec.feed(data)
		f.dec.endFile()
	}
	return f.err
}

// follower reads a growing output log across rotations.
type follower struct {
	w          io.Writer
	timestamps bool
	dec        logDecoder
	f          *os.File
	buf        []byte
	err        error
}

func (f *follower) write(at time.Time, _ uint64, chunk []byte, start bool) {
	if f.err != nil {
		return
	}
	var out []byte
	if start {
		out = appendLine(f.buf[:0], at, chunk, f.timestamps)
	} else {
		out = append(f.buf[:0], chunk...)
	}
	_, f.err = f.w.Write(out)
	f.buf = out[:0]
}

// poll prints what was appended since the last poll. When the log has
// rotated, the file still open is read to its end before the new one.
func (f *follower) poll(path string) error {
	if f.f == nil {
		file, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow output: %w", err)
		}
		f.f = file
	}
	if err := f.drain(); err != nil {
		return err
	}
	cur, err := os.Stat(path)
	if err != nil {
		return nil // removed: the bottle is ending
	}
	open, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("follow output: %w", err)
	}
	if !os.SameFile(cur, open) {
		f.close()
		f.dec.endFile()
		return f.poll(path)
	}
	return f.err
}

// drain reads the open file to its current end.
func (f *follower) drain() error {
	if f.f == nil {
		return f.err
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := f.f.Read(buf)
		f.dec.feed(buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return f.err
		}
		if err != nil {
			return fmt.Errorf("follow output: %w", err)
		}
	}
}

func (f *follower) close() {
	if f.f != nil {
		_ = f.f.Close()
		f.f = nil
	}
}
