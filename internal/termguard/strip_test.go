package termguard

import (
	"bytes"
	"testing"
)

func TestStrip(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain\ttext\r\n", "plain\ttext\r\n"},
		{"\x1b[1;31mred\x1b[0m", "red"},
		{"a\x1b]52;c;eA==\x07b\x1b]0;t\x1b\\c", "abc"},
		{"\x1bPtmux;\x1b\x1b]52;c;x\x07\x1b\\d", "d"},
		{"\xc2\x9d52;x\xc2\x9ce\xc2\x9b31mf", "ef"},
		{"g\x1b(Bh\x1b7i\x08\x00j", "ghij"},
		{"unterminated \x1b]52;c;x", "unterminated "},
		{"café", "café"},
	} {
		if got := string(Strip([]byte(c.in))); got != c.want {
			t.Errorf("Strip(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzStrip: what Strip returns holds no ESC, no C1 control and no C0
// control but tab, line feed and carriage return.
func FuzzStrip(f *testing.F) {
	for _, s := range []string{"\x1b]52;c;eA==\x07", "\xc2\x9b1m", "\x1b[", "a\x1b", "\xc2\xc2\x9d"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Strip(in)
		for i, c := range out {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				t.Fatalf("Strip(%q) = %q holds control %#x", in, out, c)
			}
			if c == 0xc2 && i+1 < len(out) && out[i+1] >= 0x80 && out[i+1] <= 0x9f {
				t.Fatalf("Strip(%q) = %q holds a C1 control", in, out)
			}
		}
		if bytes.IndexByte(in, esc) < 0 && bytes.IndexByte(in, 0xc2) < 0 && bytes.IndexFunc(in, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f }) < 0 && !bytes.Equal(out, in) {
			t.Fatalf("text %q came out as %q", in, out)
		}
	})
}
