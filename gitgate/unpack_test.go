package gitgate

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"golang.org/x/sys/unix"
)

// unpackTarget is a push's destination: f's gate with its copy of the
// upstream, the repo "app" and a quarantine removed at the test's end.
func unpackTarget(t *testing.T, f *gateFixture) (*Gate, *repoState, *quarantine) {
	t.Helper()
	f.clone(t)
	g := f.gate
	rs := g.repos["app"]
	q, err := g.newQuarantine(rs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(q.dir) })
	return g, rs, q
}

// blockingReader is a push body that sends a pack header and then never
// anything more, as an agent trickling its push would.
type blockingReader struct {
	sent bool
	end  chan struct{} // closed when the test ends
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "PACK\x00\x00\x00\x02\x00\x00\x00\x01"), nil
	}
	<-b.end
	return 0, io.EOF
}

// TestUnpackIsBounded: a pack that never finishes arriving is refused
// when the gate's operation time is up, with a message that says so,
// and its index-pack is gone.
func TestUnpackIsBounded(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	g, rs, q := unpackTarget(t, f)
	g.cfg.Timeout = 300 * time.Millisecond
	end := make(chan struct{})
	t.Cleanup(func() { close(end) })
	done := make(chan error, 1)
	go func() { done <- g.unpack(context.Background(), rs, q, &blockingReader{end: end}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "took longer than 300ms") {
			t.Fatalf("a push that never ends: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the gate waited a minute on a push bounded at 300ms")
	}
}

// deltaBomb is a pack of two objects: a 64 KiB blob, and a delta on it
// whose 1-byte instructions each copy the whole base, so that a few KiB
// of pack describe a blob of size bytes, which index-pack must build in
// memory to name it.
func deltaBomb(t *testing.T, size int) []byte {
	t.Helper()
	const baseSize = 1 << 16
	var pack bytes.Buffer
	pack.WriteString("PACK")
	binary.Write(&pack, binary.BigEndian, uint32(2))
	binary.Write(&pack, binary.BigEndian, uint32(2))
	header := func(typ, n int) {
		b := byte(typ<<4) | byte(n&15)
		n >>= 4
		for n > 0 {
			pack.WriteByte(b | 0x80)
			b = byte(n & 127)
			n >>= 7
		}
		pack.WriteByte(b)
	}
	deflate := func(data []byte) {
		zw := zlib.NewWriter(&pack)
		zw.Write(data)
		zw.Close()
	}
	varint := func(b *bytes.Buffer, n int) {
		for n >= 0x80 {
			b.WriteByte(byte(n) | 0x80)
			n >>= 7
		}
		b.WriteByte(byte(n))
	}
	baseAt := pack.Len()
	header(3, baseSize) // blob
	deflate(bytes.Repeat([]byte("a"), baseSize))
	var delta bytes.Buffer
	varint(&delta, baseSize)
	varint(&delta, size)
	for n := 0; n < size; n += baseSize {
		delta.WriteByte(0x80) // copy 0x10000 bytes from offset 0
	}
	deltaAt := pack.Len()
	header(6, delta.Len()) // ofs-delta
	off := deltaAt - baseAt
	enc := []byte{byte(off & 127)}
	for off >>= 7; off > 0; off >>= 7 {
		off--
		enc = append([]byte{byte(128 | off&127)}, enc...)
	}
	pack.Write(enc)
	deflate(delta.Bytes())
	sum := sha1.Sum(pack.Bytes())
	pack.Write(sum[:])
	return pack.Bytes()
}

// TestUnpackMemoryIsBounded: a push of a few KiB that describes a 1 GiB
// blob is refused while git builds it, within a bound on the memory of
// the gate's git (which runs on the host, outside the bottle's limits),
// and the refusal says why. Measured from the kernel: the largest
// resident size of any child this test process reaped.
func TestUnpackMemoryIsBounded(t *testing.T) {
	f := newTunedGateFixture(t, dlptest.Random(32), nil, func(c *Config) { c.MaxScan = 1 << 20 })
	g, rs, q := unpackTarget(t, f)
	bomb := deltaBomb(t, 1<<30)
	t.Logf("the pack is %d bytes", len(bomb))
	err := g.unpack(context.Background(), rs, q, bytes.NewReader(bomb))
	var ru unix.Rusage
	if e := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); e != nil {
		t.Fatal(e)
	}
	peak := ru.Maxrss << 10 // KiB
	t.Logf("unpack: %v; the largest child's peak resident size: %d MiB", err, peak>>20)
	if err == nil {
		t.Errorf("a pack describing a 1 GiB blob was unpacked (bound %d bytes)", g.cfg.MaxScan)
	} else if !strings.Contains(err.Error(), "memory") {
		t.Errorf("the refusal does not say the push needed too much memory: %v", err)
	}
	if peak > 512<<20 {
		t.Errorf("the gate's git reached %d MiB unpacking it", peak>>20)
	}
}

// TestUnpackRunsOnOneCoreAtLowPriority: index-pack resolves deltas with a
// thread per core by default, on the host, outside the bottle's limits: a
// push built to cost CPU would take every core for the gate's operation
// time. The gate's index-pack uses one thread at a lowered priority, seen
// on the running process (its command line and its nice value).
func TestUnpackRunsOnOneCoreAtLowPriority(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	g, rs, q := unpackTarget(t, f)
	end := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- g.unpack(context.Background(), rs, q, &blockingReader{end: end}) }()
	defer func() { close(end); <-done }()
	deadline := time.Now().Add(time.Minute)
	for {
		pid, cmdline := childRunning(t, "index-pack")
		if pid != 0 {
			if nice := niceOf(t, pid); nice >= unpackNice {
				if !strings.Contains(cmdline, "--threads=1") {
					t.Errorf("index-pack runs as %q: no --threads=1", cmdline)
				}
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("index-pack (%q) runs at nice %d, want %d", cmdline, nice, unpackNice)
			}
		} else if time.Now().After(deadline) {
			t.Fatal("no index-pack started within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childRunning finds a child of this process whose command line holds
// word, and returns its pid and command line (0 when there is none).
func childRunning(t *testing.T, word string) (int, string) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if s := strings.ReplaceAll(string(cmdline), "\x00", " "); strings.Contains(s, word) {
			return pid, s
		}
	}
	return 0, ""
}

// niceOf reads a process's nice value from /proc/PID/stat.
func niceOf(t *testing.T, pid int) int {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after "(comm)": state is field 3 of the whole line, nice field 19.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
