package gitgate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A push's new commits are scanned as `git log -p` shows them, with every
// added line, file name and commit message, and with nothing that was
// already upstream: `<new tips> --not --all`, the mirror's refs being the
// upstream's, so an old secret never blocks a new branch. Binary files are
// shown as text (-a) so a NUL byte hides nothing; a merge shows what it
// adds over an automatic remerge of its parents (an "evil" merge's own
// lines). git has no remerge for a merge of more than two parents (it
// shows nothing for one), so such an octopus is shown against its first
// parent instead: everything the others brought counts as new. Every line
// the parser does not know as removed content or diff structure is
// scanned: a line it misreads is scanned rather than skipped. And every
// new commit object is scanned as stored (scanobjects.go): its author,
// committer and other headers, and its message before git re-encodes it.

// errTooLarge refuses a push whose history is more than MaxScan bytes.
var errTooLarge = errors.New("the new history is larger than the gate scans")

// scanResult is what the scan of a push found.
type scanResult struct {
	commits  []string // the new commits, newest first
	findings []schemas.GitFinding
	// dropped counts the findings beyond maxFindings: a push with more
	// is refused outright, since the operator could not see them all.
	dropped int
	bytes   int64 // of history scanned
}

// scan lists and scans the commits reachable from tips and not from the
// mirror's refs. rs.mu is held.
func (g *Gate) scan(ctx context.Context, rs *repoState, q *quarantine, tips []string) (*scanResult, error) {
	env := append(g.localEnv(rs), q.env()...)
	rangeArgs := append(append([]string{}, tips...), "--not", "--all")
	out, err := g.run(ctx, env, append([]string{"rev-list"}, rangeArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list the new commits: %w", err)
	}
	res := &scanResult{commits: splitLines(out)}
	if len(res.commits) == 0 {
		return res, nil
	}
	if err := g.checkBlobs(ctx, env, rangeArgs); err != nil {
		return nil, err
	}
	p, err := logScan(ctx, g.cfg.Git, g.cfg.Dir, env, rangeArgs, g.cfg.Detector, g.cfg.MaxScan)
	if err != nil {
		return nil, err
	}
	octopus, err := g.run(ctx, env, append([]string{"rev-list", "--min-parents=3"}, rangeArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list the new octopus merges: %w", err)
	}
	if merges := splitLines(octopus); len(merges) > 0 {
		if err := p.log(ctx, g.cfg.Git, g.cfg.Dir, env, "first-parent", append([]string{"--no-walk"}, merges...)); err != nil {
			return nil, err
		}
	}
	if err := p.objects(ctx, g.cfg.Git, g.cfg.Dir, env, res.commits); err != nil {
		return nil, err
	}
	res.findings, res.dropped, res.bytes = p.findings, p.dropped, p.total
	return res, nil
}

// checkBlobs refuses a push with a new blob larger than MaxScan before
// git diffs it: a pack's size says little of what it inflates to (a blob
// of one repeated byte packs a thousand times smaller), and the gate's
// git would hold the whole blob to show it.
func (g *Gate) checkBlobs(ctx context.Context, env, rangeArgs []string) error {
	filter := "--filter=blob:limit=" + strconv.FormatInt(g.cfg.MaxScan+1, 10)
	out, err := g.run(ctx, env, append([]string{"rev-list", "--objects", "--no-object-names", filter, "--filter-print-omitted"}, rangeArgs...)...)
	if err != nil {
		return fmt.Errorf("list the new objects: %w", err)
	}
	for _, l := range splitLines(out) {
		if id, ok := strings.CutPrefix(l, "~"); ok {
			return fmt.Errorf("%w (%d bytes): blob %s alone is larger", errTooLarge, g.cfg.MaxScan, short(id))
		}
	}
	return nil
}

// logScan runs `git log -p` over rangeArgs in dir and scans what it
// prints as it reads, up to max bytes.
func logScan(ctx context.Context, git, dir string, env, rangeArgs []string, det *dlp.Detector, max int64) (*patchScanner, error) {
	p := &patchScanner{det: det, max: max}
	if err := p.log(ctx, git, dir, env, "remerge", rangeArgs); err != nil {
		return nil, err
	}
	return p, nil
}

// log runs `git log -p` over rangeArgs, each merge shown as diffMerges
// says, and scans what it prints as it reads.
func (p *patchScanner) log(ctx context.Context, git, dir string, env []string, diffMerges string, rangeArgs []string) error {
	args := append([]string{"log", "-p", "-a", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--diff-merges=" + diffMerges,
		"--no-abbrev", "--format=%x01%H%n%w(0,4,4)%B"}, rangeArgs...)
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Env, cmd.Dir = env, dir
	p.commit = ""
	return readCommand(cmd, "scan the new commits", "git log", p.read)
}

// readCommand runs cmd and hands its output to read as it comes; a read
// that fails stops the command. Errors start with what (and name the
// command as name, with the end of its stderr).
func readCommand(cmd *exec.Cmd, what, name string, read func(io.Reader) error) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	perr := read(stdout)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case perr != nil:
		return perr
	case werr != nil:
		return fmt.Errorf("%s: %s: %v: %s", what, name, werr, tail(stderr.String(), 3))
	}
	return nil
}

func splitLines(b []byte) []string {
	var out []string
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

var (
	commitLineRe = regexp.MustCompile(`^\x01([0-9a-f]{40})$`)
	hunkRe       = regexp.MustCompile(`^@@@* -[0-9]+(?:,([0-9]+))? .*?\+([0-9]+)(?:,([0-9]+))? @@`)
)

// patchScanner reads `git log -p` output and scans it unit by unit: the
// added lines of one file in one commit, and the rest of one commit (its
// message, file names, diff headers).
type patchScanner struct {
	det      *dlp.Detector
	max      int64
	total    int64
	scratch  dlp.Scratch
	findings []schemas.GitFinding
	dropped  int // findings beyond maxFindings

	commit string
	file   string // the file whose hunks follow ("" before its +++ line)
	added  unit   // the current file's added lines
	rest   unit   // the commit's message and headers
	// inside a hunk: how many old and new lines are still to come
	oldLeft, newLeft, next int
}

// unit is text scanned as one piece, with the line number of each line.
type unit struct {
	buf    []byte
	starts []int // byte offset of each line in buf
	lines  []int // its line number (0 when it has none)
}

func (u *unit) add(line []byte, n int) {
	u.starts = append(u.starts, len(u.buf))
	u.lines = append(u.lines, n)
	u.buf = append(append(u.buf, line...), '\n')
}

func (u *unit) reset() { u.buf, u.starts, u.lines = u.buf[:0], u.starts[:0], u.lines[:0] }

// lineAt is the line number of byte offset off.
func (u *unit) lineAt(off int) int {
	i := sort.SearchInts(u.starts, off+1) - 1
	if i < 0 || i >= len(u.lines) {
		return 0
	}
	return u.lines[i]
}

// read consumes the whole log. Bytes count toward the bound as they
// arrive, so a line longer than the bound is refused before it is held.
func (p *patchScanner) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			p.total += int64(len(chunk))
			if p.total > p.max {
				return fmt.Errorf("%w (%d bytes)", errTooLarge, p.max)
			}
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) > 0 {
			if perr := p.line(bytes.TrimSuffix(line, []byte("\n"))); perr != nil {
				return perr
			}
			line = line[:0]
		}
		if err == io.EOF {
			p.endCommit()
			return nil
		}
		if err != nil {
			return fmt.Errorf("scan the new commits: %w", err)
		}
	}
}

// line classifies one line of the log.
func (p *patchScanner) line(l []byte) error {
	if p.oldLeft > 0 || p.newLeft > 0 {
		switch {
		case len(l) > 0 && l[0] == '-' && p.oldLeft > 0:
			p.oldLeft--
			return nil
		case len(l) > 0 && l[0] == '+' && p.newLeft > 0:
			p.newLeft--
			p.added.add(l[1:], p.next)
			p.next++
			return nil
		case len(l) > 0 && l[0] == '\\': // "\ No newline at end of file"
			return nil
		}
		p.oldLeft, p.newLeft = 0, 0 // not what the hunk announced: read it as anything else
	}
	if len(l) > 0 && l[0] == 1 {
		m := commitLineRe.FindSubmatch(l)
		if m == nil {
			return errors.New("scan the new commits: the log is not in the form the gate reads; refused")
		}
		p.endCommit()
		p.commit = string(m[1])
		return nil
	}
	if p.commit == "" {
		return errors.New("scan the new commits: the log does not start with a commit; refused")
	}
	switch {
	case bytes.HasPrefix(l, []byte("@@")):
		if m := hunkRe.FindSubmatch(l); m != nil {
			p.oldLeft, p.newLeft = count(m[1]), count(m[3])
			p.next, _ = strconv.Atoi(string(m[2]))
			return nil
		}
	case bytes.HasPrefix(l, []byte("--- ")), bytes.HasPrefix(l, []byte("index ")):
		return nil // the old side: already upstream
	case bytes.HasPrefix(l, []byte("+++ ")):
		p.endFile()
		name := string(l[4:])
		if len(name) > 2 && name[:2] == "b/" {
			name = name[2:]
		}
		p.file = name
	case bytes.HasPrefix(l, []byte("diff --git ")), bytes.HasPrefix(l, []byte("diff --cc ")):
		p.endFile()
		p.file = ""
	}
	p.rest.add(l, 0)
	return nil
}

// count is a hunk header's line count: absent means 1.
func count(b []byte) int {
	if b == nil {
		return 1
	}
	n, _ := strconv.Atoi(string(b))
	return n
}

// endFile scans the added lines of the current file.
func (p *patchScanner) endFile() {
	if len(p.added.buf) > 0 {
		for _, f := range p.det.Find(p.added.buf, &p.scratch) {
			line := 0
			if !f.Decoded {
				line = p.added.lineAt(f.Start)
			}
			p.add(schemas.GitFinding{Rule: f.Rule, Commit: p.commit, File: p.file, Line: line})
		}
	}
	p.added.reset()
	p.oldLeft, p.newLeft = 0, 0
}

// endCommit scans the last file and the commit's message and headers.
func (p *patchScanner) endCommit() {
	p.endFile()
	if len(p.rest.buf) > 0 {
		for _, f := range p.det.Find(p.rest.buf, &p.scratch) {
			p.add(schemas.GitFinding{Rule: f.Rule, Commit: p.commit})
		}
	}
	p.rest.reset()
	p.file = ""
}

// add records a finding once.
func (p *patchScanner) add(f schemas.GitFinding) {
	for _, x := range p.findings {
		if x == f {
			return
		}
	}
	if len(p.findings) < maxFindings {
		p.findings = append(p.findings, f)
		return
	}
	p.dropped++
}

// maxFindings bounds the findings one push reports; a push with more is
// refused without asking the operator, who would release findings nobody
// showed them (a release covers whole commits).
const maxFindings = 100
