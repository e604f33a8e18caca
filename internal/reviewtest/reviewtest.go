// Package reviewtest sets up one bottle's review side on real parts for
// tests outside package review: a bot-bottle home with a manifest, a SQLite
// store and bus, a live egress proxy on loopback, and the bottle's review
// owner following the channel. Imported only by tests.
package reviewtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
)

// Bottle is a bottle's review side: everything but the bottle's process.
type Bottle struct {
	ID    string
	Home  string
	Store *sqlite.Store
	Bus   *events.Bus
	Proxy *egressproxy.Proxy
	Owner *review.Owner
}

// DefaultManifest admits one host.
const DefaultManifest = "egress:\n  routes:\n    - host: api.example.com\n"

// New starts the review side of bottle id, planned from the bottle "main"
// whose manifest (YAML) is given. Everything stops when the test ends.
func New(t testing.TB, id, manifest string) *Bottle {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(planner.BottlesDir(home), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planner.BottlesDir(home), "main.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	pl := &planner.Planner{Home: home}
	plan, err := pl.Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(store, events.BusOptions{})
	ca, err := egressproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := egressproxy.New(egressproxy.Config{Bottle: id, Routes: plan.RoutesFile(), CA: ca, Publisher: bus})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go proxy.Serve(l)
	owner := review.NewOwner(review.OwnerConfig{Bottle: id, Manifest: "main", Proxy: proxy, Channel: bus, Planner: pl})
	if err := owner.Begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go owner.Run(ctx)
	t.Cleanup(func() {
		cancel()
		proxy.Close()
		c, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		bus.Close(c)
		store.Close()
	})
	return &Bottle{ID: id, Home: home, Store: store, Bus: bus, Proxy: proxy, Owner: owner}
}
