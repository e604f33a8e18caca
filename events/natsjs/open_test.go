package natsjs_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nkeys"
)

func open(t *testing.T, o natsjs.Options) (*natsjs.Store, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := natsjs.Open(ctx, o)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// mustWork appends an event and reads it back through s.
func mustWork(t *testing.T, s *natsjs.Store) {
	t.Helper()
	ev, _ := schemas.NewEvent("b", schemas.KindDenial, schemas.Denial{Host: "x.test"})
	got, err := s.Append(context.Background(), []schemas.Event{ev})
	if err != nil || len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("append through the store: %+v, %v", got, err)
	}
}

// noSecret fails t if err's text holds secret; it never prints secret.
func noSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("the error holds the secret (%d bytes); not printing it", len(secret))
	}
}

func TestOpenRefusesClearly(t *testing.T) {
	plain := natstest.Start(t, natstest.Options{})
	noJS := natstest.Start(t, natstest.Options{NoJetStream: true})
	dead := natstest.Start(t, natstest.Options{})
	deadURL := dead.URL()
	dead.Stop()
	for _, c := range []struct {
		name string
		o    natsjs.Options
		is   error
		says []string
	}{
		{"http scheme", natsjs.Options{URL: "http://127.0.0.1:4222"}, nil, []string{"scheme", "nats://"}},
		{"no host", natsjs.Options{URL: "nats://"}, nil, []string{"want nats://HOST:PORT"}},
		{"password in the URL", natsjs.Options{URL: "nats://me:hunter2secret@127.0.0.1:4222"}, nil, []string{"user or token", "--events-password-env"}},
		{"nobody there", natsjs.Options{URL: deadURL}, natsjs.ErrUnreachable, []string{deadURL}},
		{"no JetStream", natsjs.Options{URL: noJS.URL()}, natsjs.ErrNoJetStream, []string{"-js"}},
		{"two credentials", natsjs.Options{URL: plain.URL(), User: "a", NkeySeedFile: "/x"}, nil, []string{"one of"}},
		{"missing creds file", natsjs.Options{URL: plain.URL(), CredsFile: "/nonexistent/user.creds"}, nil, []string{"creds file", "/nonexistent/user.creds"}},
		{"bad prefix", natsjs.Options{URL: plain.URL(), Prefix: "a.b"}, nil, []string{"prefix"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := open(t, c.o)
			if err == nil {
				t.Fatal("open succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %q", err, c.is)
			}
			for _, w := range c.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			noSecret(t, err, "hunter2secret")
		})
	}
}

func TestUserPassword(t *testing.T) {
	const secret = "pw-Zx81-never-printed"
	srv := natstest.Start(t, natstest.Options{User: "desk", Password: secret})
	s, err := open(t, natsjs.Options{URL: srv.URL(), User: "desk", Password: secret})
	if err != nil {
		t.Fatalf("open with the right password: %v", err)
	}
	mustWork(t, s)
	_, err = open(t, natsjs.Options{URL: srv.URL(), User: "desk", Password: secret + "x"})
	if !errors.Is(err, natsjs.ErrAuth) {
		t.Fatalf("a wrong password: %v, want ErrAuth", err)
	}
	noSecret(t, err, secret)
	if _, err := open(t, natsjs.Options{URL: srv.URL()}); !errors.Is(err, natsjs.ErrAuth) {
		t.Errorf("no credentials: %v, want ErrAuth", err)
	}
}

func TestNkeySeed(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	srv := natstest.Start(t, natstest.Options{Nkey: pub})
	s, err := open(t, natsjs.Options{URL: srv.URL(), NkeySeedFile: natstest.WriteFile(t, "user.nk", seed)})
	if err != nil {
		t.Fatalf("open with the nkey seed: %v", err)
	}
	mustWork(t, s)

	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	_, err = open(t, natsjs.Options{URL: srv.URL(), NkeySeedFile: natstest.WriteFile(t, "other.nk", otherSeed)})
	if !errors.Is(err, natsjs.ErrAuth) {
		t.Fatalf("an unknown nkey: %v, want ErrAuth", err)
	}
	noSecret(t, err, string(otherSeed))
	_, err = open(t, natsjs.Options{URL: srv.URL(), NkeySeedFile: natstest.WriteFile(t, "junk.nk", []byte("SUjunk-not-a-seed"))})
	if err == nil || !strings.Contains(err.Error(), "not a user seed") {
		t.Errorf("a file that holds no seed: %v", err)
	}
	noSecret(t, err, "SUjunk-not-a-seed")
}

func TestTLS(t *testing.T) {
	pki := testpki.New(t)
	srv := natstest.Start(t, natstest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{pki.Leaf(t, "127.0.0.1")}, MinVersion: tls.VersionTLS12}})
	ca := natstest.WriteFile(t, "ca.pem", pki.CertPEM())
	s, err := open(t, natsjs.Options{URL: srv.URL(), CAFile: ca})
	if err != nil {
		t.Fatalf("open with the CA: %v", err)
	}
	mustWork(t, s)
	tlsURL := strings.Replace(srv.URL(), "nats://", "tls://", 1)
	if _, err := open(t, natsjs.Options{URL: tlsURL, CAFile: ca}); err != nil {
		t.Errorf("open tls:// with the CA: %v", err)
	}

	// Without the CA the system's roots do not know the server.
	if _, err := open(t, natsjs.Options{URL: srv.URL()}); !errors.Is(err, natsjs.ErrTLS) {
		t.Errorf("without the CA: %v, want ErrTLS", err)
	}
	otherCA := natstest.WriteFile(t, "other.pem", testpki.New(t).CertPEM())
	if _, err := open(t, natsjs.Options{URL: srv.URL(), CAFile: otherCA}); !errors.Is(err, natsjs.ErrTLS) {
		t.Errorf("with another CA: %v, want ErrTLS", err)
	}
	// A CA given for a server without TLS is refused, never downgraded.
	plain := natstest.Start(t, natstest.Options{})
	if _, err := open(t, natsjs.Options{URL: plain.URL(), CAFile: ca}); !errors.Is(err, natsjs.ErrTLS) {
		t.Errorf("a CA against a plain server: %v, want ErrTLS", err)
	}
}

func TestCredsFile(t *testing.T) {
	op := natstest.NewOperator(t)
	srv := natstest.Start(t, natstest.Options{Operator: op})
	s, err := open(t, natsjs.Options{URL: srv.URL(), CredsFile: op.Creds(t)})
	if err != nil {
		t.Fatalf("open with a creds file: %v", err)
	}
	mustWork(t, s)
	stranger := natstest.StrangerCreds(t)
	_, err = open(t, natsjs.Options{URL: srv.URL(), CredsFile: stranger})
	if !errors.Is(err, natsjs.ErrAuth) {
		t.Fatalf("a user of an unknown account: %v, want ErrAuth", err)
	}
	raw, _ := os.ReadFile(stranger)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "SU") { // the seed
			noSecret(t, err, line)
		}
	}
}
