package gitgate

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
)

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
	f.clone(t) // the gate has its copy of the upstream
	g := f.gate
	g.cfg.Timeout = 300 * time.Millisecond
	rs := g.repos["app"]
	q, err := g.newQuarantine(rs)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(q.dir)
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
