package termguard

import (
	"bytes"
	"strings"
	"testing"
)

func filter(t testing.TB, chunks ...string) string {
	t.Helper()
	var out bytes.Buffer
	g := New(&out)
	for _, c := range chunks {
		if n, err := g.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("write %q: %d, %v", c, n, err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestFilter(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"text", "hello, world\r\n", "hello, world\r\n"},
		{"utf-8 text", "naïve café ½ – 日本", "naïve café ½ – 日本"},
		{"colours and cursor", "\x1b[1;31mred\x1b[0m\x1b[2J\x1b[H\x1b[?1049h\x1b[?2026h", "\x1b[1;31mred\x1b[0m\x1b[2J\x1b[H\x1b[?1049h\x1b[?2026h"},
		{"two-byte and charset escapes", "\x1b7\x1b8\x1bM\x1b(B\x1b)0", "\x1b7\x1b8\x1bM\x1b(B\x1b)0"},
		{"title", "\x1b]0;claude: working\x07", "\x1b]0;claude: working\x07"},
		{"title with ST", "\x1b]2;codex\x1b\\", "\x1b]2;codex\x1b\\"},
		{"hyperlink", "\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\", "\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\"},
		{"background colour query", "\x1b]11;?\x1b\\", "\x1b]11;?\x1b\\"},
		{"XTGETTCAP", "\x1bP+q544e\x1b\\", "\x1bP+q544e\x1b\\"},
		{"synchronised update", "\x1bP=1s\x1b\\x\x1bP=2s\x1b\\", "\x1bP=1s\x1b\\x\x1bP=2s\x1b\\"},
		{"clipboard write", "a\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07b", "ab"},
		{"clipboard read", "\x1b]52;c;?\x1b\\after", "after"},
		{"tmux passthrough", "\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\after", "after"},
		{"sixel", "\x1bP0;0;0q#0;2;0;0;0\x1b\\ok", "ok"},
		{"iTerm2 file", "\x1b]1337;File=inline=1:AAAA\x07ok", "ok"},
		{"vterm eval", "\x1b]51;Eshell-command \"id\"\x07ok", "ok"},
		{"kitty file transfer", "\x1b]5113;ac=send\x1b\\ok", "ok"},
		{"APC graphics", "\x1b_Gf=100;AAAA\x1b\\ok", "ok"},
		{"PM and SOS", "\x1b^private\x1b\\\x1bXstart\x1b\\ok", "ok"},
		{"title report", "\x1b[21t\x1b[20t\x1b[18t", "\x1b[18t"},
		{"UTF-8 C1 OSC", "\xc2\x9d52;c;eA==\xc2\x9cok", "ok"},
		{"UTF-8 C1 CSI", "\xc2\x9b31mred", "\x1b[31mred"},
		{"UTF-8 C1 NEL", "a\xc2\x85b", "ab"},
		{"OSC number too long", "\x1b]00000000052;c;x\x07ok", "ok"},
		{"OSC without number", "\x1b];x\x07ok", "ok"},
		{"open title at the end", "\x1b]0;tit", "\x1b]0;tit\x1b\\"},
		{"OSC cut by ESC", "\x1b]0;title\x1b[31mred", "\x1b]0;title\x1b\\\x1b[31mred"},
		{"dropped OSC cut by ESC", "\x1b]52;c;x\x1b[31mred", "\x1b[31mred"},
		{"cancelled", "\x1b]52;c\x18ok\x1b[3\x18ok", "okok"},
		{"overlong CSI", "\x1b[" + strings.Repeat("1;", 100) + "mok", "ok"},
		{"ESC then C1", "\x1b\xc2\x9d52;c;x\x07ok", "ok"},
		{"a C2 joined to a C1 byte across an ESC", "00\xc2\x1b\x90x", "00\xc2x"},
		{"ESC ESC and a stray ST", "\x1b\x1b[1m\x1b\\ok", "\x1b[1mok"},
		{"charset then C1", "\x1b(\xc2\x9d52;c;x\x07ok", "\x1b(ok"},
		{"CSI then C1", "\x1b[3\xc2\x9d52;c;x\x07ok", "ok"},
	} {
		if got := filter(t, c.in); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		// Split anywhere, the stream gives the same.
		for i := 1; i < len(c.in); i++ {
			if got := filter(t, c.in[:i], c.in[i:]); got != c.want {
				t.Errorf("%s split at %d: %q, want %q", c.name, i, got, c.want)
			}
		}
	}
}

// FuzzFilter: the stream is judged the same however it is cut into
// writes, what comes out passes again unchanged (nothing dropped is left
// in it), and text with no escape passes whole.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"\x1b]52;c;eA==\x07", "\x1bPtmux;\x1b\x1b]52;c;x\x07\x1b\\", "\xc2\x9d52;x\xc2\x9c", "\x1b[21t",
		"\x1b]0;t\x1b\\", "\x1b]8;;u\x07l\x1b]8;;\x07", "\x1b[1;31mx", "héllo"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, cut int) {
		whole := filter(t, in)
		if cut > 0 && cut < len(in) {
			if got := filter(t, in[:cut], in[cut:]); got != whole {
				t.Fatalf("%q cut at %d gives %q, whole %q", in, cut, got, whole)
			}
		}
		if again := filter(t, whole); again != whole {
			t.Fatalf("%q gives %q, which filters again to %q", in, whole, again)
		}
		for _, bad := range []string{"\x1b]52", "\x1bPt", "\x1b_", "\x1b^", "\x1bX", "\x1b[21t", "\x1b[20t"} {
			if strings.Contains(whole, bad) {
				t.Fatalf("%q gives %q, which holds %q", in, whole, bad)
			}
		}
		for i := 0; i+1 < len(whole); i++ {
			if whole[i] == 0xc2 && whole[i+1] >= 0x80 && whole[i+1] <= 0x9f {
				t.Fatalf("%q gives %q, which holds a C1 control at %d", in, whole, i)
			}
		}
		if strings.IndexByte(in, 0x1b) < 0 && strings.IndexByte(in, 0xc2) < 0 && whole != in {
			t.Fatalf("text %q came out as %q", in, whole)
		}
	})
}
