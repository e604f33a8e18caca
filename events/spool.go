package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Spool file names inside a Forwarder's SpoolDir.
const (
	spoolFile = "events.jsonl" // one event per line, appended and fsync'd
	ackFile   = "acked"        // the byte offset in events.jsonl up to which the control plane acknowledged
	lockFile  = "spool.lock"   // flock'd: one forwarder per spool
)

// spool is a sidecar's durable queue. Events are appended to events.jsonl
// and fsync'd before the forwarder counts them as spooled; the control
// plane's acknowledgement moves the acked offset; when everything is
// acknowledged the file is truncated. A crash at any point either keeps an
// event unacknowledged (it is sent again: the store ignores the duplicate)
// or loses only a torn last line that was never fsync'd.
type spool struct {
	dir  string
	f    *os.File
	lock *os.File

	mu    sync.Mutex
	size  int64 // bytes in events.jsonl
	acked int64 // bytes of it acknowledged
}

// openSpool opens (creating) the spool in dir, recovers it from a crash and
// returns it with the number of events it still has to deliver.
func openSpool(dir string) (*spool, int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("open spool %s: %w", dir, err)
	}
	return openSpoolIn(dir, os.O_CREATE)
}

// openSpoolIn is openSpool of a folder that exists. A deliverer opens
// with create 0: a spool without its lock file is one that another
// deliverer is removing, and must not be made again.
func openSpoolIn(dir string, create int) (*spool, int, error) {
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|create, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open spool %s: %w", dir, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, 0, fmt.Errorf("open spool %s: another forwarder is using it: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, spoolFile), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, 0, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &spool{dir: dir, f: f, lock: lock}
	backlog, err := s.recover()
	if err != nil {
		s.close()
		return nil, 0, fmt.Errorf("open spool %s: %w", dir, err)
	}
	return s, backlog, nil
}

// recover cuts a torn last line, reads the acked offset and counts the
// lines after it.
func (s *spool) recover() (int, error) {
	data, err := io.ReadAll(io.NewSectionReader(s.f, 0, 1<<62))
	if err != nil {
		return 0, err
	}
	whole := int64(bytes.LastIndexByte(data, '\n') + 1)
	if whole < int64(len(data)) {
		if err := s.f.Truncate(whole); err != nil {
			return 0, fmt.Errorf("cut torn last line: %w", err)
		}
	}
	s.size = whole
	raw, err := os.ReadFile(filepath.Join(s.dir, ackFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return 0, err
	default:
		s.acked, err = strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", ackFile, err)
		}
	}
	// An offset past the end, or not at a line start, is left from a crash
	// between truncating and recording it: deliver everything again.
	if s.acked > s.size || (s.acked > 0 && data[s.acked-1] != '\n') {
		s.acked = 0
	}
	return bytes.Count(data[s.acked:whole], []byte{'\n'}), nil
}

// append writes evs, one line each, and syncs them to disk. It refuses
// (returning false) when that would take the file past limit bytes.
func (s *spool) append(evs []schemas.Event, limit int64) (bool, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return false, fmt.Errorf("spool event %s: %w", ev.ID, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(buf.Len()) > limit {
		return false, nil
	}
	n, err := s.f.Write(buf.Bytes())
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Cut what was written: a half line would poison the next read.
		s.f.Truncate(s.size)
		return false, fmt.Errorf("spool %d events to %s: %w", len(evs), s.dir, err)
	}
	s.size += int64(n)
	return true, nil
}

// unacked returns up to max events after the acked offset and the offset
// just after the last of them. A line that does not decode (a damaged
// disk) is skipped and reported in bad.
func (s *spool) unacked(max int) (evs []schemas.Event, end int64, bad int, err error) {
	s.mu.Lock()
	from, size := s.acked, s.size
	s.mu.Unlock()
	if from >= size {
		return nil, from, 0, nil
	}
	const chunk = 4 << 20
	data := make([]byte, min(size-from, chunk))
	if _, err := s.f.ReadAt(data, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, from, 0, fmt.Errorf("read spool %s: %w", s.dir, err)
	}
	end = from
	for len(evs) < max {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var ev schemas.Event
		if json.Unmarshal(data[:i], &ev) == nil {
			evs = append(evs, ev)
		} else {
			bad++
		}
		data, end = data[i+1:], end+int64(i+1)
	}
	return evs, end, bad, nil
}

// ack records that everything before end is delivered; when that is the
// whole file, the file is emptied.
func (s *spool) ack(end int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = end
	if s.acked == s.size {
		if err := s.f.Truncate(0); err != nil {
			return fmt.Errorf("empty spool %s: %w", s.dir, err)
		}
		s.acked, s.size = 0, 0
	}
	return atomicfile.Write(filepath.Join(s.dir, ackFile), []byte(strconv.FormatInt(s.acked, 10)+"\n"), 0o600)
}

func (s *spool) close() {
	s.f.Close()
	s.lock.Close()
}
