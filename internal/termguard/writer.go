package termguard

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// state is where the filter is in the escape grammar.
type state int

const (
	ground   state = iota
	escape         // after ESC
	escInter       // ESC and intermediates: ESC ( B and the like
	csi            // ESC [ params, up to a final byte
	csiDrop        // an overlong CSI, dropped up to its final byte
	strHead        // an OSC/DCS/APC/PM/SOS string, before its kind is judged
	strBody        // a judged string: passed on when pass, else dropped
	strEsc         // ESC inside a string: ST (ESC \), or the start of something new
	utf8C2         // 0xC2 read: with the next byte it may be a C1 control
)

// maxHead bounds what is held back to judge a sequence (a CSI, the head
// of a string); a longer one is dropped whole.
const maxHead = 64

const (
	esc = 0x1b
	bel = 0x07
	can = 0x18
	sub = 0x1a
)

// Writer filters a stream on its way to a terminal (see the package doc).
// Each stream needs its own: the state of one is no help for another.
type Writer struct {
	mu    sync.Mutex // a relay's last write and the owner's Close may meet
	w     io.Writer
	st    state
	after state  // where utf8C2 goes back to
	kind  byte   // the string's introducer: ']' OSC, 'P' DCS, 'X' SOS, '^' PM, '_' APC
	pass  bool   // the judged string is passed on
	held  []byte // a CSI or a string head, not yet judged
	out   []byte
	// sentC2: the last byte sent was 0xC2.
	sentC2 bool
}

// New returns a Writer that writes the filtered stream to w.
func New(w io.Writer) *Writer { return &Writer{w: w, held: make([]byte, 0, maxHead)} }

// Write filters p and writes what passes. It reports len(p) unless w
// fails: what it drops is consumed on purpose.
func (g *Writer) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.out = g.out[:0]
	for _, b := range p {
		g.step(b)
	}
	if len(g.out) > 0 {
		if _, err := g.w.Write(g.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close ends the stream: a string that was being passed is closed, so
// the terminal is not left inside it, and a sequence begun but not ended
// is dropped. It does not close the underlying writer.
func (g *Writer) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.out = g.out[:0]
	switch g.st {
	case strHead, strBody, strEsc:
		g.closeString()
	case utf8C2:
		g.st = g.after
		g.text(0xc2) // nothing follows: a byte of text, no C1 control
		if g.st == strHead || g.st == strBody {
			g.closeString()
		}
	}
	g.st = ground
	if len(g.out) > 0 {
		if _, err := g.w.Write(g.out); err != nil {
			return err
		}
	}
	return nil
}

// emit sends bytes on. Whatever the path to it, a byte 0x80-0x9F right
// after a 0xC2 sent is dropped: the two would be a C1 control in UTF-8.
func (g *Writer) emit(bs ...byte) {
	for _, b := range bs {
		if g.sentC2 && b >= 0x80 && b <= 0x9f {
			continue
		}
		g.sentC2 = b == 0xc2
		g.out = append(g.out, b)
	}
}

func (g *Writer) step(b byte) {
	switch g.st {
	case ground:
		switch b {
		case esc:
			g.st = escape
		case 0xc2:
			g.st, g.after = utf8C2, ground
		default:
			g.emit(b)
		}
	case utf8C2:
		g.st = g.after
		if b >= 0x80 && b <= 0x9f {
			g.c1(b)
			return
		}
		g.text(0xc2)
		g.step(b)
	case escape:
		g.introducer(b)
	case escInter:
		switch {
		case b >= 0x20 && b <= 0x7e:
			g.emit(b)
			if b >= 0x30 {
				g.st = ground // the final byte
			}
		default: // not of the sequence: it ends, and b is read anew
			g.st = ground
			g.step(b)
		}
	case csi:
		g.csiByte(b)
	case csiDrop:
		switch {
		case b == esc:
			g.st = escape
		case b >= 0x40 && b <= 0x7e, b == can, b == sub:
			g.st = ground
		}
	case strHead, strBody:
		g.stringByte(b)
	case strEsc:
		if b == '\\' {
			if g.pass {
				g.emit(esc, '\\')
			}
			g.st = ground
			return
		}
		g.closeString() // an ESC that is not ST ends the string and starts anew
		g.st = escape
		g.step(b)
	}
}

// text is a byte of text in the state g.st: passed on in ground and in a
// passed string, dropped elsewhere.
func (g *Writer) text(b byte) {
	switch g.st {
	case ground:
		g.emit(b)
	case strBody:
		if g.pass {
			g.emit(b)
		}
	case strHead:
		g.head(b)
	}
}

// introducer handles the byte after ESC.
func (g *Writer) introducer(b byte) {
	switch {
	case b == '[':
		g.held = append(g.held[:0], esc, '[')
		g.st = csi
	case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
		g.startString(b)
	case b == esc, b == '\\':
		// ESC ESC: the first does nothing, the second starts anew. ESC \
		// with no string open: a stray terminator, nothing to send.
		if b == '\\' {
			g.st = ground
		}
	case b == can || b == sub:
		g.st = ground
	case b >= 0x20 && b <= 0x2f:
		g.emit(esc, b)
		g.st = escInter
	case b >= 0x30 && b <= 0x7e:
		g.emit(esc, b) // a two-byte escape: ESC 7, ESC M, ESC =
		g.st = ground
	default: // ESC then a control or a non-ASCII byte: the ESC is dropped, b read anew
		g.st = ground
		g.step(b)
	}
}

// c1 handles a C1 control written as UTF-8: the CSI and string
// introducers become their ESC forms, ST ends a string, anything else is
// dropped.
func (g *Writer) c1(b byte) {
	inString := g.st == strHead || g.st == strBody
	switch {
	case b == 0x9c:
		if inString {
			g.endString(false)
		}
	case inString:
		// Another introducer inside a string ends it, as ESC would.
		g.closeString()
		g.st = ground
		g.c1(b)
	case b == 0x9b:
		g.introducer('[')
	case b == 0x9d:
		g.startString(']')
	case b == 0x90:
		g.startString('P')
	case b == 0x98:
		g.startString('X')
	case b == 0x9e:
		g.startString('^')
	case b == 0x9f:
		g.startString('_')
	}
}

func (g *Writer) csiByte(b byte) {
	switch {
	case b == can || b == sub:
		g.st = ground
	case b == esc:
		g.st = escape
	case b < 0x20:
		g.emit(b) // a control inside a CSI acts on its own
	case b >= 0x7f: // no byte of a CSI: it ends unsent, and b is read anew
		g.st = ground
		g.step(b)
	case b >= 0x40 && b <= 0x7e:
		g.held = append(g.held, b)
		if !titleReport(g.held) {
			g.emit(g.held...)
		}
		g.st = ground
	case len(g.held) >= maxHead:
		g.st = csiDrop
	default:
		g.held = append(g.held, b)
	}
}

// titleReport reports CSI 20 t and CSI 21 t, which make the terminal type
// the icon label or the window title into its input.
func titleReport(seq []byte) bool {
	if seq[len(seq)-1] != 't' {
		return false
	}
	first, _, _ := strings.Cut(string(seq[2:len(seq)-1]), ";")
	return first == "20" || first == "21"
}

func (g *Writer) startString(kind byte) {
	g.kind, g.pass = kind, false
	g.held = append(g.held[:0], esc, kind)
	g.st = strHead
}

func (g *Writer) stringByte(b byte) {
	switch b {
	case can, sub:
		g.st = ground // cancelled: what was passed stays open, as the terminal sees it
		if g.pass {
			g.emit(b)
		}
	case esc:
		g.judgeNow()
		g.st = strEsc
	case bel:
		g.endString(true)
	case 0xc2:
		g.after, g.st = g.st, utf8C2
	default:
		g.text(b)
	}
}

// head adds b to the head of the string and judges it once the head says
// enough.
func (g *Writer) head(b byte) {
	g.held = append(g.held, b)
	done := len(g.held) >= 2+16
	switch g.kind {
	case ']':
		done = done || b == ';' || b < '0' || b > '9'
	case 'P':
		done = done || b >= 0x40 && b <= 0x7e
	default:
		done = true // APC, PM, SOS: always dropped
	}
	if done {
		g.judgeNow()
	}
}

// judgeNow decides, if it is not decided yet, whether the string is
// passed on or dropped.
func (g *Writer) judgeNow() {
	if g.st != strHead {
		return
	}
	g.pass = allowedString(g.kind, string(g.held[2:]))
	if g.pass {
		g.emit(g.held...)
	}
	g.st = strBody
}

// endString ends the string with its terminator (BEL when bel, else ST).
func (g *Writer) endString(bel bool) {
	g.judgeNow()
	if g.pass {
		if bel {
			g.emit(0x07)
		} else {
			g.emit(esc, '\\')
		}
	}
	g.pass = false
	g.st = ground
}

// closeString ends a string cut short (by an ESC that is not ST, or an
// introducer): one that was passed is closed, so that the terminal is not
// left inside it.
func (g *Writer) closeString() {
	g.judgeNow()
	if g.pass {
		g.emit(esc, '\\')
	}
	g.pass = false
}

// allowedOSC are the OSC numbers an interface uses that reach nothing
// beyond the window (see the package doc).
var allowedOSC = map[int]bool{0: true, 1: true, 2: true, 4: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true,
	104: true, 110: true, 111: true, 112: true, 133: true, 777: true}

// allowedDCS are the DCS heads whose answers are the terminal's own state:
// XTGETTCAP, DECRQSS, and the synchronised-update brackets.
var allowedDCS = []string{"+q", "$q", "=1s", "=2s"}

func allowedString(kind byte, head string) bool {
	switch kind {
	case ']':
		num, _, _ := strings.Cut(head, ";")
		n, err := strconv.Atoi(num)
		return err == nil && len(num) <= 4 && num[0] != '+' && allowedOSC[n]
	case 'P':
		return slices.Contains(allowedDCS, head)
	}
	return false
}
