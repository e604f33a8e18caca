package gitgate

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

// FuzzReadPushRequest: the agent writes every byte of a push's commands.
// Whatever it sends, a command the gate takes has two object ids and a
// ref under refs/ that no later command line can misread: no control or
// space character, no "..", no ".lock" or "/" at its end, and not longer
// than git takes.
func FuzzReadPushRequest(f *testing.F) {
	old, new := strings.Repeat("a", 40), strings.Repeat("b", 40)
	for _, cmds := range [][]string{
		{old + " " + new + " refs/heads/agent/x\x00report-status side-band-64k atomic\n"},
		{zeroID + " " + new + " refs/heads/agent/x\x00 quiet\n", old + " " + zeroID + " refs/heads/agent/y\n"},
		{old + " " + new + " refs/heads/agent/../main\n"},
		{old + " " + new + " refs/heads/agent/x\x01\n"},
		{old + " " + new + " HEAD\n"},
		{old + " " + new + " refs/heads/agent/x.lock\n"},
		{"shallow " + old + "\n"},
		{old + " " + new + " refs/heads/agent/x y\n"},
	} {
		var b bytes.Buffer
		for _, c := range cmds {
			b.Write(pktString(c))
		}
		b.Write(flushPkt)
		b.WriteString("PACK")
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := readPushRequest(bytes.NewReader(body))
		if err != nil {
			return
		}
		if len(req.cmds) == 0 || len(req.cmds) > maxCommands {
			t.Fatalf("%d commands taken", len(req.cmds))
		}
		for _, c := range req.cmds {
			if !oidRe.MatchString(c.old) || !oidRe.MatchString(c.new) {
				t.Fatalf("bad object ids taken: %q %q", c.old, c.new)
			}
			r := c.ref
			if !strings.HasPrefix(r, "refs/") || len(r) > 255 || strings.Contains(r, "..") ||
				strings.HasSuffix(r, ".lock") || strings.HasSuffix(r, "/") ||
				strings.IndexFunc(r, func(x rune) bool { return x > unicode.MaxASCII || unicode.IsSpace(x) || unicode.IsControl(x) }) >= 0 {
				t.Fatalf("ref %q taken", r)
			}
		}
	})
}
