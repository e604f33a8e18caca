// Package natstest starts real NATS servers with JetStream for tests: the
// server of github.com/nats-io/nats-server/v2 embedded in the test process,
// on loopback, on a random port, with its store in a temporary folder. No
// mock: the stores and registries under test speak the real protocol to a
// real server, which the tests may stop and start again on the same port
// and folder (a server that goes away and comes back).
package natstest

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server a test started; Stop and Start it again to
// simulate an outage. It is stopped when the test ends.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Cluster is a JetStream cluster a test started: three (or more) servers
// on loopback, routed to each other.
type Cluster struct {
	Servers []*Server
}

// URL lists every server's client URL, comma-separated, as a client that
// fails over takes them.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// StartCluster starts n JetStream servers routed into one cluster. A
// stream with n replicas can be created once they have elected a meta
// leader, which a client finds by retrying.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	clientPorts, routePorts := make([]int, n), make([]int, n)
	var routes []string
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", routePorts[i]))
	}
	c := &Cluster{}
	base := t.TempDir()
	for i := range n {
		opts := server.Options{
			ServerName:         fmt.Sprintf("bb-node-%d", i),
			Host:               "127.0.0.1",
			Port:               clientPorts[i],
			JetStream:          true,
			StoreDir:           filepath.Join(base, fmt.Sprintf("node-%d", i)),
			NoLog:              true,
			NoSigs:             true,
			Cluster:            server.ClusterOpts{Name: "bb-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:             server.RoutesFromStr(strings.Join(routes, ",")),
			JetStreamMaxMemory: 64 << 20,
			JetStreamMaxStore:  1 << 30,
		}
		s := &Server{t: t, opts: opts}
		// Each server waits for its routes only once all are up: start
		// them together.
		srv, err := server.NewServer(&s.opts)
		if err != nil {
			t.Fatalf("start nats node %d: %v", i, err)
		}
		go srv.Start()
		s.srv = srv
		t.Cleanup(s.Stop)
		c.Servers = append(c.Servers, s)
	}
	for i, s := range c.Servers {
		if !s.srv.ReadyForConnections(30 * time.Second) {
			t.Fatalf("nats node %d not ready after 30s", i)
		}
	}
	// Until the JetStream meta group has a leader and every node has
	// caught up with it, a request to create a stream waits out its
	// timeout.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		leader, current := false, true
		for _, s := range c.Servers {
			leader = leader || s.srv.JetStreamIsLeader()
			current = current && s.srv.JetStreamIsCurrent()
		}
		if leader && current {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the nats cluster elected no JetStream leader in a minute")
		}
	}
	return c
}

// Options tunes the server a test starts.
type Options struct {
	// NoJetStream starts a server without JetStream (a misconfigured
	// server, which a store must refuse clearly).
	NoJetStream bool
	// User and Password require that login.
	User, Password string
	// Nkey requires a client that signs with this public nkey.
	Nkey string
	// TLS serves TLS only, with this certificate.
	TLS *tls.Config
	// Users are further users, with their permissions.
	Users []*server.User
	// Operator runs the server in operator (decentralised JWT) mode,
	// trusting this operator and the accounts in it (Operator.Creds).
	Operator *Operator
}

// Start starts a server on 127.0.0.1 and a free port.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	opts := server.Options{
		ServerName: "bb-test",
		Host:       "127.0.0.1",
		Port:       freePort(t),
		JetStream:  !o.NoJetStream,
		StoreDir:   filepath.Join(t.TempDir(), "js"),
		NoLog:      true,
		NoSigs:     true,
		// Small limits keep a test server light on a shared machine.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}
	if o.User != "" {
		opts.Users = []*server.User{{Username: o.User, Password: o.Password}}
	}
	opts.Users = append(opts.Users, o.Users...)
	if o.Nkey != "" {
		opts.Nkeys = []*server.NkeyUser{{Nkey: o.Nkey}}
	}
	if o.Operator != nil {
		opts.TrustedOperators = []*jwt.OperatorClaims{o.Operator.claims}
		opts.AccountResolver = o.Operator.resolver
		opts.SystemAccount = o.Operator.system
	}
	if o.TLS != nil {
		opts.TLSConfig = o.TLS
		opts.TLS = true
		opts.TLSTimeout = 5
	}
	s := &Server{t: t, opts: opts}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL (nats://127.0.0.1:PORT).
func (s *Server) URL() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// Start starts the server (again), on the same port and store folder.
func (s *Server) Start() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("start nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		s.t.Fatalf("nats server on port %d not ready after 30s", s.opts.Port)
	}
	s.srv = srv
}

// Stop shuts the server down and waits until it has.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// freePort asks the kernel for a free loopback port. The listener is
// closed before the server binds it; on loopback in a test nobody takes it
// in between in practice, and a restart needs a fixed port anyway.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WriteFile writes data to a file of mode 0600 in a temporary folder and
// returns its path: a creds file or an nkey seed for a test.
func WriteFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
