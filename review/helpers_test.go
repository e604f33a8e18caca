package review

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// world is one bottle's review loop on real parts: a SQLite store and bus,
// a live egress proxy on loopback in front of a TLS upstream, an owner and a
// desk.
type world struct {
	t        testing.TB
	bus      *events.Bus
	proxy    *egressproxy.Proxy
	proxyURL *url.URL
	upstream *httptest.Server
	ca       *egressproxy.CA
	owner    *Owner
	desk     *Desk
	home     string
	running  map[string]bool
	stopRun  context.CancelFunc
	runDone  chan error
}

const bottleID = "main-abc123"

// newWorld starts the loop for the bottle "main" whose manifest is manifest
// (YAML), with the proxy's table planned from it.
func newWorld(t *testing.T, manifest string, limits Limits) *world {
	t.Helper()
	return newWorldOn(t, manifest, limits, nil)
}

// newWorldOn is newWorld on a store of the caller's (nil: SQLite in the
// home); the world closes it.
func newWorldOn(t testing.TB, manifest string, limits Limits, store events.Store) *world {
	t.Helper()
	w := &world{t: t, running: map[string]bool{bottleID: true}}
	w.home = t.TempDir()
	os.MkdirAll(planner.BottlesDir(w.home), 0o700)
	if err := os.WriteFile(filepath.Join(planner.BottlesDir(w.home), "main.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	pl := &planner.Planner{Home: w.home, Env: map[string]string{"GH_TOKEN": "ghp_reviewTESTtoken0123456789"}}
	plan, err := pl.Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := pl.Tokens(plan, pl.Env)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		if store, err = sqlite.Open(filepath.Join(w.home, "state.db"), sqlite.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	w.bus = events.NewBus(store, events.BusOptions{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.bus.Close(ctx)
		store.Close()
	})

	hosts := []string{"pypi.org", "api.github.com", "files.example.com", "other.example.com"}
	pki := testpki.New(t)
	w.upstream = pki.NewTLSServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "ok %s %s", r.Host, r.URL.Path)
	}), hosts...)
	roots := pki.Pool()
	resolve := map[string]string{}
	for _, h := range hosts {
		resolve[h+":443"] = w.upstream.Listener.Addr().String()
	}
	if w.ca, err = egressproxy.NewCA(); err != nil {
		t.Fatal(err)
	}
	w.proxy, err = egressproxy.New(egressproxy.Config{Bottle: bottleID, Routes: plan.RoutesFile(), Tokens: tokens, CA: w.ca,
		Publisher: w.bus, UpstreamRoots: roots, Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go w.proxy.Serve(l)
	t.Cleanup(func() { w.proxy.Close() })
	w.proxyURL = &url.URL{Scheme: "http", Host: l.Addr().String()}

	w.owner = NewOwner(OwnerConfig{Bottle: bottleID, Manifest: "main", Proxy: w.proxy, Channel: w.bus, Planner: pl, Limits: limits})
	w.startOwner()
	w.desk = NewDesk(DeskConfig{Channel: w.bus, Running: func(_ context.Context, b string) (bool, error) { return w.running[b], nil }})
	return w
}

// startOwner runs the owner's follower until stopOwner or the test ends.
func (w *world) startOwner() {
	if err := w.owner.Begin(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stopRun, w.runDone = cancel, make(chan error, 1)
	go func() { w.runDone <- w.owner.Run(ctx) }()
	w.t.Cleanup(cancel)
}

func (w *world) stopOwner() {
	w.stopRun()
	<-w.runDone
}

// client is an agent's HTTPS client: through the proxy, trusting the
// bottle's CA.
func (w *world) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.ca.CertPEM())
	tr := &http.Transport{Proxy: http.ProxyURL(w.proxyURL)}
	tr.TLSClientConfig = tlsConfig(pool)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get returns the status code of a GET through the proxy.
func (w *world) get(c *http.Client, u string) int {
	w.t.Helper()
	resp, err := c.Get(u)
	if err != nil && strings.HasSuffix(err.Error(), ": Forbidden") {
		return 403 // refused at CONNECT: Go reports the status as an error
	}
	if err != nil {
		w.t.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// request asks for egress in the background and returns the channel the
// result arrives on.
func (w *world) request(req planner.RouteRequest, wait time.Duration) chan Result {
	ch := make(chan Result, 1)
	go func() {
		r, err := w.owner.Request(context.Background(), req, "need it for the build", nil, wait)
		if err != nil {
			r = Result{Status: "error", Notes: err.Error()}
		}
		ch <- r
	}()
	return ch
}

// waitPending returns the one pending proposal once the desk sees it.
func (w *world) waitPending() View {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		views, err := w.desk.Proposals(context.Background(), Filter{Status: schemas.ProposalPending})
		if err != nil {
			w.t.Fatal(err)
		}
		if len(views) == 1 {
			return views[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatal("no pending proposal reached the desk")
	return View{}
}

func tlsConfig(roots *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: roots} }
