package launcher

import (
	"bytes"
	"strconv"
	"time"
)

// A bottle's output log is the command's output cut into lines, each line
// stored as one record: a prefix saying when its first byte arrived and its
// sequence number, then the line's bytes as written, '\n' included:
//
//	2026-12-05T17:43:43.123456789Z 17 <the line>\n
//
// The time lets `logs --since` and `--timestamps` answer per line, and the
// sequence number lets a follower move from the run folder to the kept copy
// (or across a rotation) without printing a line twice or losing one. A
// line still being written has no '\n' yet; when the log rotates in the
// middle of it, the new file goes on with a record of the same sequence
// number, which readers join to the line it continues.
const logTimeLayout = "2006-01-02T15:04:05.000000000Z"

// logPrefixMax bounds a record prefix: the time, a space, a sequence
// number, a space.
const logPrefixMax = len(logTimeLayout) + 1 + 20 + 1

// appendLogPrefix appends the prefix of a record for line seq begun at t.
func appendLogPrefix(b []byte, t time.Time, seq uint64) []byte {
	b = t.UTC().AppendFormat(b, logTimeLayout)
	b = append(b, ' ')
	b = strconv.AppendUint(b, seq, 10)
	return append(b, ' ')
}

// parseLogPrefix reads a record prefix at the start of b; n is its length,
// 0 when b does not start with one.
func parseLogPrefix(b []byte) (t time.Time, seq uint64, n int) {
	if len(b) < len(logTimeLayout)+3 || b[len(logTimeLayout)] != ' ' {
		return time.Time{}, 0, 0
	}
	t, err := time.Parse(logTimeLayout, string(b[:len(logTimeLayout)]))
	if err != nil {
		return time.Time{}, 0, 0
	}
	rest := b[len(logTimeLayout)+1:]
	end := bytes.IndexByte(rest[:min(len(rest), 21)], ' ')
	if end <= 0 {
		return time.Time{}, 0, 0
	}
	seq, err = strconv.ParseUint(string(rest[:end]), 10, 64)
	if err != nil {
		return time.Time{}, 0, 0
	}
	return t, seq, len(logTimeLayout) + 1 + end + 1
}

// LogLine is one line of a bottle's output.
type LogLine struct {
	// At is when the line's first byte arrived (zero in a log kept before
	// lines were timed).
	At time.Time
	// Seq numbers the lines of a bottle's output from 1.
	Seq uint64
	// Text is the line as written, with its '\n' when it has ended.
	Text []byte
}

// logDecoder turns a stream of log records back into output, chunk by
// chunk, so a follower can print a line while it is still being written.
// Fed records of a line it has already emitted, it emits only what is new:
// the same stream may be read from the run folder and then from the kept
// copy.
type logDecoder struct {
	// emit receives each new piece of output; start says it begins a line.
	emit func(at time.Time, seq uint64, chunk []byte, start bool)

	buf    []byte    // an incomplete prefix carried to the next feed
	inLine bool      // inside a record's text
	seq    uint64    // the line being read
	at     time.Time // when it began
	pos    int       // bytes of the line seen in this record stream
	// done and doneLen are the last line emitted and how much of it.
	done    uint64
	doneLen int
	legacy  bool // the log has no records: raw output from an older version
	started bool
}

// feed decodes p.
func (d *logDecoder) feed(p []byte) {
	if !d.started {
		d.started = true
		if len(p) > 0 {
			if _, _, n := parseLogPrefix(p); n == 0 && !couldBePrefix(p) {
				d.legacy = true
			}
		}
	}
	if d.legacy {
		if len(p) > 0 {
			d.emit(time.Time{}, 0, p, false)
		}
		return
	}
	for len(p) > 0 {
		if !d.inLine {
			d.buf = append(d.buf, p...)
			t, seq, n := parseLogPrefix(d.buf)
			if n == 0 {
				if len(d.buf) >= logPrefixMax || !couldBePrefix(d.buf) {
					// Not a record: show it rather than lose it.
					d.emit(time.Time{}, d.done, d.buf, false)
					d.buf = d.buf[:0]
				}
				return
			}
			p = d.buf[n:]
			d.buf = nil
			if seq != d.seq {
				d.pos = 0
			}
			d.seq, d.at, d.inLine = seq, t, true
			continue
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i+1]
		}
		d.deliver(chunk)
		p = p[len(chunk):]
		if i >= 0 {
			d.inLine = false
		}
	}
}

// deliver passes on the part of chunk (the text of line d.seq from d.pos)
// not emitted before.
func (d *logDecoder) deliver(chunk []byte) {
	from := d.pos
	d.pos += len(chunk)
	switch {
	case d.seq < d.done:
		return
	case d.seq == d.done:
		if d.pos <= d.doneLen {
			return
		}
		if skip := d.doneLen - from; skip > 0 {
			chunk = chunk[skip:]
			from = d.doneLen
		}
	}
	d.emit(d.at, d.seq, chunk, from == 0)
	d.done, d.doneLen = d.seq, d.pos
}

// couldBePrefix reports whether b may be the start of a record prefix that
// has not fully arrived.
func couldBePrefix(b []byte) bool {
	for i, c := range b {
		if i >= len(logTimeLayout) {
			break
		}
		want := logTimeLayout[i]
		switch {
		case want >= '0' && want <= '9':
			if c < '0' || c > '9' {
				return false
			}
		case c != want:
			return false
		}
	}
	return true
}

// endFile tells the decoder that a file ended: a line left without its
// '\n' goes on, if at all, in a record of its own in the next file.
func (d *logDecoder) endFile() {
	if len(d.buf) > 0 && !d.legacy {
		d.emit(time.Time{}, d.done, d.buf, false) // a torn prefix: show it rather than lose it
	}
	d.buf, d.inLine, d.started = nil, false, false
}

// parseLog decodes whole log files, in order, into lines.
func parseLog(files ...[]byte) []LogLine {
	var lines []LogLine
	d := logDecoder{emit: func(at time.Time, seq uint64, chunk []byte, start bool) {
		if start || len(lines) == 0 {
			lines = append(lines, LogLine{At: at, Seq: seq})
		}
		l := &lines[len(lines)-1]
		l.Text = append(l.Text, chunk...)
	}}
	for _, data := range files {
		d.feed(data)
		d.endFile()
		if d.legacy {
			lines = splitLegacy(lines)
			d.legacy = false
		}
	}
	return lines
}

// encodeLog writes lines back as records: how a kept log is stored.
func encodeLog(lines []LogLine) []byte {
	var out []byte
	for _, ln := range lines {
		out = appendLogPrefix(out, ln.At, ln.Seq)
		out = append(out, ln.Text...)
	}
	return out
}

// splitLegacy cuts the untimed output at the end of lines into lines,
// numbered after the ones before it.
func splitLegacy(lines []LogLine) []LogLine {
	if len(lines) == 0 {
		return nil
	}
	raw := lines[len(lines)-1]
	out := lines[:len(lines)-1]
	seq := uint64(0)
	if len(out) > 0 {
		seq = out[len(out)-1].Seq
	}
	for rest := raw.Text; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest) - 1
		}
		seq++
		out = append(out, LogLine{Seq: seq, Text: rest[:i+1]})
		rest = rest[i+1:]
	}
	return out
}
