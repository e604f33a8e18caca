package natsjs_test

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func prefixFor(n int) string { return fmt.Sprintf("t%d", n) }

// rawJetStream connects to url as a plain nats.go client would (opts: the
// user, for instance), for a test that works on the server behind the
// store's back; the connection closes when the test ends.
func rawJetStream(t testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
