package egressproxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

const relayToken = "tok-0123456789abcdefXYZ"

// relayProxy is the least of a Proxy a wsRelay needs.
func relayProxy(t *testing.T) *Proxy {
	t.Helper()
	m, err := newMetrics(nil, "b1", func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	return &Proxy{bottle: "b1", log: discardLogger, metrics: m,
		scan: newScanner(map[string]schemas.Secret{"A": schemas.NewSecret(relayToken)})}
}

// fakeUp is an upstream connection after a 101: Read serves down in
// random-sized pieces, then blocks until Close; Write keeps what it gets.
type fakeUp struct {
	rng    *rand.Rand
	eof    bool // Read ends with io.EOF instead of blocking
	down   []byte
	mu     sync.Mutex
	wrote  bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func newFakeUp(rng *rand.Rand, down []byte) *fakeUp {
	return &fakeUp{rng: rng, down: down, closed: make(chan struct{})}
}

func (u *fakeUp) Read(p []byte) (int, error) {
	if len(u.down) == 0 {
		if u.eof {
			return 0, io.EOF
		}
		<-u.closed
		return 0, errors.New("use of closed connection")
	}
	n := min(len(p), len(u.down), 1+u.rng.IntN(40))
	copy(p, u.down[:n])
	u.down = u.down[n:]
	return n, nil
}

func (u *fakeUp) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.wrote.Write(p)
}

func (u *fakeUp) Close() error { u.once.Do(func() { close(u.closed) }); return nil }

// frame builds one frame; key nil for a server frame.
func frame(fin bool, op byte, payload []byte, key []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var out []byte
	mbit := byte(0)
	if key != nil {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, b0, mbit|byte(n))
	case n <= 0xffff:
		out = binary.BigEndian.AppendUint16(append(out, b0, mbit|126), uint16(n))
	default:
		out = binary.BigEndian.AppendUint64(append(out, b0, mbit|127), uint64(n))
	}
	if key == nil {
		return append(out, payload...)
	}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

// randomMessage is filler with the token in it now and then.
func randomMessage(rng *rand.Rand, withToken bool) []byte {
	var b bytes.Buffer
	for range 1 + rng.IntN(6) {
		b.WriteString(strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(700)))
		if withToken && rng.IntN(2) == 0 {
			b.WriteString(relayToken)
		}
	}
	return b.Bytes()
}

// fragment writes msg as frames of random sizes (empty ones too), with a
// ping between them now and then.
func fragment(rng *rand.Rand, op byte, msg []byte, key func() []byte) []byte {
	var out []byte
	first := true
	for {
		n := min(len(msg), rng.IntN(300))
		fin := n == len(msg) && rng.IntN(4) != 0
		o := byte(wsOpContinuation)
		if first {
			o, first = op, false
		}
		out = append(out, frame(fin, o, msg[:n], key())...)
		msg = msg[n:]
		if rng.IntN(5) == 0 {
			out = append(out, frame(true, wsOpPing, []byte("ping"), key())...)
		}
		if fin {
			return out
		}
	}
}

// readFrames parses server frames into messages and control payloads; a
// frame not yet whole at the end is left out.
func readFrames(t *testing.T, b []byte) (msgs [][]byte, controls []string) {
	t.Helper()
	var cur []byte
	for len(b) > 0 {
		h, ok, err := parseWSHeader(b, false)
		if err != nil {
			t.Fatalf("bad frame from the relay: %v", err)
		}
		if !ok || uint64(len(b)-h.size) < h.length {
			break
		}
		p := b[h.size : h.size+int(h.length)]
		b = b[h.size+int(h.length):]
		if h.control() {
			controls = append(controls, string(p))
			continue
		}
		cur = append(cur, p...)
		if h.fin {
			msgs, cur = append(msgs, cur), nil
		}
	}
	return msgs, controls
}

// TestWSRelayMasksUpstreamFramesAnyFraming: however the upstream frames
// and the network splits its messages, the agent reads the same messages
// with every token masked, and every control frame.
func TestWSRelayMasksUpstreamFramesAnyFraming(t *testing.T) {
	p := relayProxy(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 100 {
		var down []byte
		var want [][]byte
		for range 1 + rng.IntN(4) {
			msg := randomMessage(rng, true)
			down = append(down, fragment(rng, wsOpText, msg, func() []byte { return nil })...)
			want = append(want, bytes.ReplaceAll(msg, []byte(relayToken), bytes.Repeat([]byte("*"), len(relayToken))))
		}
		pings := bytes.Count(down, []byte("ping")) // filler is runs of one letter: only pings say it
		up := newFakeUp(rng, down)
		up.eof = true
		r := newWSRelay(p, up, &reqState{}, true)
		var got []byte
		buf := make([]byte, 1+rng.IntN(100))
		for {
			m, err := r.Read(buf)
			got = append(got, buf[:m]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("case %d: read: %v", i, err)
			}
		}
		msgs, controls := readFrames(t, got)
		for j := range want {
			if !bytes.Equal(msgs[j], want[j]) {
				t.Fatalf("case %d message %d: got %d bytes, want %d; masked alike: %v", i, j, len(msgs[j]), len(want[j]),
					bytes.Contains(msgs[j], []byte(relayToken)))
			}
		}
		if len(controls) != pings {
			t.Fatalf("case %d: %d control frames for %d pings", i, len(controls), pings)
		}
		r.Close()
	}
}

// TestWSRelayScansAgentFramesAnyFraming: the agent's frames pass unchanged
// when they carry no token, and a token anywhere in the data stream, split
// across frames and writes however, is refused before the frame that
// completes it leaves.
func TestWSRelayScansAgentFramesAnyFraming(t *testing.T) {
	p := relayProxy(t)
	rng := rand.New(rand.NewPCG(5, 6))
	key := func() []byte { return binary.BigEndian.AppendUint32(nil, rng.Uint32()) }
	for i := range 200 {
		withToken := i%2 == 0
		var in, plain []byte
		for range 1 + rng.IntN(3) {
			msg := randomMessage(rng, withToken)
			plain = append(plain, msg...)
			in = append(in, fragment(rng, wsOpBinary, msg, key)...)
		}
		hasToken := bytes.Contains(plain, []byte(relayToken))
		up := newFakeUp(rng, nil)
		r := newWSRelay(p, up, &reqState{}, false)
		var closeFrame []byte
		done := make(chan struct{})
		go func() { // the agent's reader: gets the close frame
			defer close(done)
			b := make([]byte, 256)
			for {
				n, err := r.Read(b)
				closeFrame = append(closeFrame, b[:n]...)
				if err != nil {
					return
				}
			}
		}()
		var werr error
		for rest := in; len(rest) > 0 && werr == nil; {
			n := min(len(rest), 1+rng.IntN(500))
			_, werr = r.Write(rest[:n])
			rest = rest[n:]
		}
		r.Close()
		<-done
		up.mu.Lock()
		wrote := up.wrote.Bytes()
		up.mu.Unlock()
		switch {
		case hasToken && !errors.Is(werr, errTokenInFrame):
			t.Fatalf("case %d: token not refused: %v", i, werr)
		case !hasToken && werr != nil:
			t.Fatalf("case %d: clean frames refused: %v", i, werr)
		case !hasToken && !bytes.Equal(wrote, in):
			t.Fatalf("case %d: clean frames changed on the way", i)
		case hasToken:
			if !bytes.HasPrefix(in, wrote) {
				t.Fatalf("case %d: the upstream got other bytes than the agent sent", i)
			}
			if bytes.Contains(unmaskStream(t, wrote), []byte(relayToken)) {
				t.Fatalf("case %d: the upstream got the whole token", i)
			}
			if len(closeFrame) < 4 || closeFrame[0] != 0x80|wsOpClose || binary.BigEndian.Uint16(closeFrame[2:]) != wsStatusPolicyViolation {
				t.Fatalf("case %d: the agent got no policy-violation close: %x", i, closeFrame)
			}
		}
	}
}

// unmaskStream returns the payload bytes of the client frames in b (the
// last one possibly cut short).
func unmaskStream(t *testing.T, b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		h, ok, err := parseWSHeader(b, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		b = b[h.size:]
		n := min(uint64(len(b)), h.length)
		p := make([]byte, n)
		unmaskInto(p, b[:n], h.key, 0)
		if !h.control() {
			out = append(out, p...)
		}
		b = b[n:]
	}
	return out
}
