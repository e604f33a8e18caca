package launcher

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// logText is the output the lines hold, as the command wrote it.
func logText(lines []LogLine) []byte {
	var b []byte
	for _, l := range lines {
		b = append(b, l.Text...)
	}
	return b
}

func TestOutputLogRotatesAndTails(t *testing.T) {
	rd := RunDir{Root: t.TempDir()}
	l, err := openOutputLog(rd.OutputLog(), 400)
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
		if fi.Size() > 400 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: size %d mode %v; want at most the limit, mode 0600", filepath.Base(p), fi.Size(), fi.Mode())
		}
	}
	lines, err := readLog(rd)
	if err != nil {
		t.Fatal(err)
	}
	all := logText(lines)
	if !bytes.HasSuffix(want.Bytes(), all) || len(lines) < 5 {
		t.Errorf("readLog = %q: want the latest output, in order, at least one full file", all)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i].Seq != lines[i-1].Seq+1 {
			t.Fatalf("line %d has seq %d after %d", i, lines[i].Seq, lines[i-1].Seq)
		}
	}
	if lines[len(lines)-1].Seq != 160 {
		t.Errorf("last seq %d, want 160", lines[len(lines)-1].Seq)
	}
	tail := renderLog(lines, LogOptions{Tail: 3})
	if string(tail) != "b\nc\nd\n" {
		t.Errorf("tail 3 = %q", tail)
	}
	if got := renderLog(lines, LogOptions{Tail: 0}); len(got) != 0 {
		t.Errorf("tail 0 = %q", got)
	}
}

// A line written in pieces, across a rotation, comes back as one line with
// the time of its first piece.
func TestOutputLogJoinsALineAcrossWritesAndRotations(t *testing.T) {
	rd := RunDir{Root: t.TempDir()}
	l, err := openOutputLog(rd.OutputLog(), 120)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	l.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for _, w := range []string{"progress: 10%", "\rprogress: 50%", "\rprogress: 100%", " done\nnext ", "line\n", "tail without newline"} {
		l.Write([]byte(w))
	}
	l.Close()
	if _, err := os.Stat(rd.OutputLog() + ".1"); err != nil {
		t.Fatalf("the log did not rotate: %v", err)
	}
	lines, err := readLog(rd)
	if err != nil {
		t.Fatal(err)
	}
	got := logText(lines)
	want := "progress: 10%\rprogress: 50%\rprogress: 100% done\nnext line\ntail without newline"
	if !bytes.HasSuffix([]byte(want), got) {
		t.Fatalf("output %q, want a suffix of %q", got, want)
	}
	last := lines[len(lines)-1]
	if string(last.Text) != "tail without newline" || last.Seq != 3 || !last.At.Equal(time.Date(2026, 12, 5, 10, 0, 6, 0, time.UTC)) {
		t.Errorf("last line %+v", last)
	}
	// --since picks lines by when they began; --timestamps shows it.
	since := renderLog(lines, LogOptions{Tail: -1, Since: time.Date(2026, 12, 5, 10, 0, 5, 0, time.UTC), Timestamps: true})
	if string(since) != "2026-12-05T10:00:06.000000000Z tail without newline" {
		t.Errorf("since = %q", since)
	}
}

// A log kept by a version that wrote raw output still reads, untimed.
func TestLegacyLogReads(t *testing.T) {
	lines := parseLog([]byte("one\ntwo\nthree"))
	if len(lines) != 3 || string(lines[2].Text) != "three" || !lines[0].At.IsZero() || lines[2].Seq != 3 {
		t.Fatalf("legacy lines %+v", lines)
	}
	if got := renderLog(lines, LogOptions{Tail: 2}); string(got) != "two\nthree" {
		t.Errorf("legacy tail = %q", got)
	}
}

// FuzzOutputLog writes arbitrary output in arbitrary pieces through a log
// that rotates often, and reads it back: what the reader returns is always
// the end of what was written, byte for byte, with increasing sequence
// numbers.
func FuzzOutputLog(f *testing.F) {
	f.Add([]byte("a\nbb\nccc\n"), uint8(3), uint16(64))
	f.Add([]byte("no newline at all"), uint8(1), uint16(40))
	f.Add([]byte("2026-12-05T10:00:00.000000000Z 7 looks like a prefix\n\n\n"), uint8(5), uint16(50))
	f.Add([]byte("\r\r\r\n\x00\xff\n"), uint8(2), uint16(45))
	f.Fuzz(func(t *testing.T, out []byte, step uint8, limit uint16) {
		rd := RunDir{Root: t.TempDir()}
		l, err := openOutputLog(rd.OutputLog(), int64(limit)+40)
		if err != nil {
			t.Fatal(err)
		}
		n := int(step%16) + 1
		for i := 0; i < len(out); i += n {
			l.Write(out[i:min(len(out), i+n)])
		}
		l.Close()
		lines, err := readLog(rd)
		if err != nil {
			t.Fatal(err)
		}
		got := logText(lines)
		if !bytes.HasSuffix(out, got) {
			t.Fatalf("read %q, not a suffix of what was written %q", got, out)
		}
		for i := 1; i < len(lines); i++ {
			if lines[i].Seq <= lines[i-1].Seq {
				t.Fatalf("seq %d after %d", lines[i].Seq, lines[i-1].Seq)
			}
		}
		// Kept, the same lines come back.
		if again := parseLog(encodeLog(lines)); !bytes.Equal(logText(again), got) || len(again) != len(lines) {
			t.Fatalf("kept copy reads %q, want %q", logText(again), got)
		}
	})
}
