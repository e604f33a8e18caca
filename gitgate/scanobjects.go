package gitgate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// `git log` shows a commit's message, not its author, committer or the
// other headers git keeps (gpgsig, mergetag, any header it does not
// know), and it re-encodes the whole commit from the charset an
// "encoding" header names: UTF-16 turns ASCII into CJK characters, which
// hides a secret from the scan while the upstream stores the raw bytes.
// So each new commit object is also scanned as stored, read with
// `git cat-file --batch`; its bytes count toward the push's bound.

// objects scans the raw commit objects of commits.
func (p *patchScanner) objects(ctx context.Context, git, dir string, env []string, commits []string) error {
	if len(commits) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, git, "cat-file", "--batch")
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdin = strings.NewReader(strings.Join(commits, "\n") + "\n")
	return readCommand(cmd, "scan the new commits' objects", "git cat-file", func(r io.Reader) error {
		return p.readObjects(bufio.NewReader(r), commits)
	})
}

// readObjects reads cat-file's answers, "<id> <type> <size>\n<bytes>\n",
// one per commit asked, and scans each object as one unit.
func (p *patchScanner) readObjects(br *bufio.Reader, commits []string) error {
	for _, want := range commits {
		head, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("scan the new commits' objects: %w", err)
		}
		f := strings.Fields(head)
		if len(f) != 3 || f[0] != want || f[1] != "commit" {
			return fmt.Errorf("scan the new commits' objects: git answered %s for commit %s; refused", quoteAgent(head), want)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("scan the new commits' objects: a bad size for commit %s; refused", want)
		}
		if p.total += size; p.total > p.max {
			return fmt.Errorf("%w (%d bytes)", errTooLarge, p.max)
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("scan the new commits' objects: %w", err)
		}
		if body[size] != '\n' {
			return errors.New("scan the new commits' objects: cat-file's answer is not in the form the gate reads; refused")
		}
		p.commit = want
		p.rest.reset()
		p.rest.add(body[:size], 0)
		p.endCommit()
	}
	return nil
}
