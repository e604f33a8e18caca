package gitgate

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// command is one ref update of a push.
type command struct{ old, new, ref string }

func (c command) isDelete() bool { return c.new == zeroID }
func (c command) isCreate() bool { return c.old == zeroID }

// pushRequest is a receive-pack request's commands and the client's
// capabilities; the pack follows in body.
type pushRequest struct {
	cmds     []command
	sideband bool
	report   bool
	quiet    bool
	atomic   bool
	body     *bufio.Reader
}

// maxCommands bounds the ref updates of one push.
const maxCommands = 1000

// Compiled on first use: a bounded repetition compiles into that many
// copies, and every bot-bottle process (each bottle's init among them)
// paid for them at start.
var (
	oidRe     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	refNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^refs/[A-Za-z0-9._/+@-]{1,250}$`) })
)

// readPushRequest reads the commands of a receive-pack request up to the
// flush that ends them.
func readPushRequest(body io.Reader) (*pushRequest, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	req := &pushRequest{body: br}
	for first := true; ; first = false {
		line, err := readPkt(br)
		if errors.Is(err, errFlush) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the push's commands: %w", err)
		}
		s := strings.TrimSuffix(string(line), "\n")
		if first {
			var caps string
			s, caps, _ = strings.Cut(s, "\x00")
			for c := range strings.FieldsSeq(caps) {
				switch c {
				case "side-band-64k":
					req.sideband = true
				case "report-status":
					req.report = true
				case "quiet":
					req.quiet = true
				case "atomic":
					req.atomic = true
				}
			}
		}
		if strings.HasPrefix(s, "shallow ") {
			return nil, errors.New("a push from a shallow clone cannot be checked: fetch the whole history (git fetch --unshallow) and push again")
		}
		f := strings.Split(s, " ")
		if len(f) != 3 || !oidRe.MatchString(f[0]) || !oidRe.MatchString(f[1]) || !refNameRe().MatchString(f[2]) ||
			strings.Contains(f[2], "..") || strings.HasSuffix(f[2], ".lock") || strings.HasSuffix(f[2], "/") {
			return nil, fmt.Errorf("the push sent a command the gate does not read: %s", quoteAgent(s))
		}
		if len(req.cmds) >= maxCommands {
			return nil, fmt.Errorf("a push may update at most %d refs", maxCommands)
		}
		req.cmds = append(req.cmds, command{old: f[0], new: f[1], ref: f[2]})
	}
	if len(req.cmds) == 0 {
		return nil, errors.New("the push has no commands")
	}
	return req, nil
}

// quarantine holds a push's objects until the push is decided: its own
// object folder, the mirror's as alternate.
type quarantine struct {
	dir, objects, mirrorObjects string
}

func (q *quarantine) env() []string {
	return []string{"GIT_OBJECT_DIRECTORY=" + q.objects, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + q.mirrorObjects}
}

func (g *Gate) newQuarantine(rs *repoState) (*quarantine, error) {
	dir, err := os.MkdirTemp(filepath.Join(g.cfg.Dir, "quarantine"), rs.Name+"-")
	if err != nil {
		return nil, err
	}
	q := &quarantine{dir: dir, objects: filepath.Join(dir, "objects"), mirrorObjects: filepath.Join(rs.mirror, "objects")}
	if err := os.MkdirAll(filepath.Join(q.objects, "pack"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return q, nil
}

// unpack indexes the push's pack into the quarantine, checking every
// object as git's fsck does (malformed objects, dangerous paths such as
// .GIT or .gitmodules tricks). It is bounded in time as an operation
// toward the upstream is: a pack trickled in, or one that costs minutes
// of CPU to index, would otherwise hold the repo (and the host's CPU,
// outside the bottle's limits) for as long as the agent likes; and in
// memory, and to one core at a low priority while it runs.
func (g *Gate) unpack(ctx context.Context, rs *repoState, q *quarantine, pack io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	// One thread at a low priority: index-pack otherwise resolves deltas
	// on every core, and a push built to cost CPU would take them all.
	args := []string{"index-pack", "--stdin", "--fix-thin", "--strict", "--threads=1", "--max-input-size=" + strconv.FormatInt(g.cfg.MaxScan, 10)}
	cmd := exec.CommandContext(ctx, g.cfg.Git, args...)
	cmd.Env = append(g.localEnv(rs), q.env()...)
	cmd.Dir = g.cfg.Dir
	// The body is copied in by a goroutine Wait does not wait for: a
	// read that never returns (a trickled push) must not keep the gate
	// from refusing the push when its time is up; it ends when the
	// request does.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("index-pack: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("index-pack: %w", err)
	}
	// Before a byte of the pack goes in: a few bytes of deltas can
	// describe a blob of any size, which index-pack builds whole.
	limit := g.unpackMemory()
	err = limitMemory(cmd.Process.Pid, limit)
	if err == nil {
		err = lowerPriority(cmd.Process.Pid, unpackNice)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("index-pack: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(stdin, pack)
		stdin.Close()
		close(copied)
	}()
	timedOut := fmt.Errorf("the push took longer than %s to arrive and unpack", g.cfg.Timeout)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return timedOut
		}
		if strings.Contains(stderr.String(), "Out of memory") {
			return fmt.Errorf("the push needs more than %d MiB to unpack, the gate's bound: it holds a blob far larger than the gate scans (%d bytes), or deltas built to exhaust memory",
				limit>>20, g.cfg.MaxScan)
		}
		return fmt.Errorf("index-pack: %v: %s", err, tail(stderr.String(), 2))
	}
	// The body is read to its end before the answer is written, as a
	// handler should (index-pack stops at the pack's end).
	select {
	case <-copied:
		return nil
	case <-ctx.Done():
		return timedOut
	}
}

// unpackNice is the nice value of the gate's index-pack: the host's own
// work comes first.
const unpackNice = 10

// unpackMemory bounds index-pack's heap: what a push within the bounds
// needs (its largest blob, at most MaxScan, with its delta base and
// result, and git's delta base cache) and no more.
func (g *Gate) unpackMemory() uint64 {
	return 256<<20 + 3*uint64(g.cfg.MaxScan)
}

// serveReceivePack answers POST /git-receive-pack: the push is read,
// checked, scanned and forwarded (or refused), and each ref's outcome is
// reported the way git prints it.
func (g *Gate) serveReceivePack(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if len(rs.Push) == 0 {
		gitError(w, http.StatusForbidden, fmt.Sprintf("bot-bottle git gate: repo %s allows no push (its git-gate push list is empty)", rs.Name))
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, 2*g.cfg.MaxScan)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			gitError(w, http.StatusBadRequest, "bot-bottle git gate: the push's gzip body does not decode")
			return
		}
		body = zr
	}
	req, err := readPushRequest(body)
	if err != nil {
		gitError(w, http.StatusBadRequest, "bot-bottle git gate: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	rep := newReporter(w, req.sideband)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := g.receive(r.Context(), rs, req, rep)
	rep.finish(req.report, out.unpackErr, req.cmds, out.status)
	g.publishPush(rs, req.cmds, out)
}
