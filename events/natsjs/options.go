package natsjs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Scheme is how an events URL names NATS: BOT_BOTTLE_EVENTS=nats://HOST:PORT
// (tls://HOST:PORT requires TLS; nats:// uses it when the server offers it
// or a CA is given).
const (
	Scheme    = "nats://"
	TLSScheme = "tls://"
)

// IsURL reports whether an events setting names a NATS server.
func IsURL(s string) bool {
	return strings.HasPrefix(s, Scheme) || strings.HasPrefix(s, TLSScheme)
}

// Defaults of Options.
const (
	DefaultPrefix   = "botbottle"
	DefaultRetain   = 100_000
	DefaultDedup    = time.Hour
	DefaultLeaseTTL = 30 * time.Second
)

// Options say where the server is, how to log in, and the limits of what
// the store creates there. Secrets are read from files (CredsFile,
// NkeySeedFile) or passed as values the caller read from an environment
// variable (Password); none is ever put in an error or a log line.
type Options struct {
	// URL is nats://HOST:PORT or tls://HOST:PORT; several, comma-separated,
	// for a cluster. User information in the URL is refused: a password
	// there ends up in shell history and process listings.
	URL string
	// CredsFile is a NATS credentials file (a user JWT and its nkey seed).
	CredsFile string
	// NkeySeedFile holds a user nkey seed ("SU...").
	NkeySeedFile string
	// User and Password log in with a user name and password.
	User, Password string
	// CAFile holds the PEM certificates that the server's must chain to;
	// empty: the system's roots.
	CAFile string
	// Name is the connection's name on the server (a monitoring aid).
	Name string

	// Prefix is the prefix of every subject, stream and bucket (default
	// DefaultPrefix), so several teams can share one server.
	Prefix string
	// Retain bounds the events kept per bottle and kind (default
	// DefaultRetain): the stream's max messages per subject. The latest of
	// each kind of each bottle is never removed by it.
	Retain int
	// Dedup is how long the server remembers an event id (default
	// DefaultDedup): a copy delivered again within it is stored once.
	// Copies come from a lost acknowledgement, and are sent again within
	// seconds (a bus, a forwarder); the server keeps every id of the
	// window in memory, so an hour bounds that cost.
	Dedup time.Duration
	// Replicas is the stream's and bucket's replica count (default 1; 3 on
	// a three-node cluster). Only the store that creates them sets it.
	Replicas int
	// LeaseTTL is how long an owner's entry in the owners bucket lives
	// unless refreshed (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Poll is the follower's safety-net poll (default 2s): doorbells are
	// core NATS messages, which a reconnect can lose.
	Poll time.Duration
	// Logger receives connection changes (disconnected, reconnected).
	Logger *slog.Logger
	// NoCreate opens only a channel that is there: Open fails with
	// ErrNotMade instead of making the stream or the bucket (shell
	// completion reads; it makes nothing).
	NoCreate bool
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Retain <= 0 {
		o.Retain = DefaultRetain
	}
	if o.Dedup <= 0 {
		o.Dedup = DefaultDedup
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "bot-bottle"
	}
	return o
}

// check refuses a URL the store cannot use, saying which part is wrong,
// and returns it as printable (every server, redacted).
func (o Options) check() (string, error) {
	if o.URL == "" {
		return "", errors.New("no NATS URL: set BOT_BOTTLE_EVENTS=nats://HOST:PORT or --events")
	}
	var shown []string
	for _, one := range strings.Split(o.URL, ",") {
		one = strings.TrimSpace(one)
		u, err := url.Parse(one)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("NATS URL %s: want nats://HOST:PORT or tls://HOST:PORT", Redact(one))
		}
		if u.Scheme != "nats" && u.Scheme != "tls" {
			return "", fmt.Errorf("NATS URL %s: scheme %q: want nats:// or tls://", Redact(one), u.Scheme)
		}
		if u.User != nil {
			return "", fmt.Errorf("NATS URL %s: holds a user or token; name credentials with --events-creds, --events-nkey or --events-user and --events-password-env instead", Redact(one))
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return "", fmt.Errorf("NATS URL %s: a path or query means nothing here: want nats://HOST:PORT", Redact(one))
		}
		shown = append(shown, u.String())
	}
	if !validPrefix(o.Prefix) {
		return "", fmt.Errorf("NATS prefix %q: want letters, digits, '-' and '_'", o.Prefix)
	}
	n := 0
	for _, set := range []bool{o.CredsFile != "", o.NkeySeedFile != "", o.User != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", errors.New("NATS credentials: name one of a creds file, an nkey seed, or a user and password")
	}
	if o.Password != "" && o.User == "" {
		return "", errors.New("NATS credentials: a password without a user")
	}
	return strings.Join(shown, ","), nil
}

func validPrefix(p string) bool {
	return p != "" && token(p) == p
}

// natsOptions builds the connection options: credentials, TLS, and
// reconnecting forever (an owner outlives a server restart; its bus
// holds what it cannot store meanwhile).
func (o Options) natsOptions(refused *denials, watch *connWatch) ([]nats.Option, error) {
	log := o.Logger
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		// No buffering while reconnecting: a publish then fails at once,
		// and the caller (a bus, a forwarder) keeps the event and retries.
		nats.ReconnectBufSize(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			watch.disconnected()
			if err != nil {
				log.Warn("NATS event channel disconnected; retrying", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			watch.reconnected()
			log.Info("NATS event channel reconnected", "server", Redact(c.ConnectedUrlRedacted()))
		}),
		// The default handler prints to stderr; a slow consumer or a
		// permission error goes to the log instead.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			refused.note(err)
			log.Warn("NATS event channel", "err", err)
		}),
	}
	switch {
	case o.CredsFile != "":
		if err := readable(o.CredsFile); err != nil {
			return nil, fmt.Errorf("NATS creds file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.NkeySeedFile != "":
		if err := readable(o.NkeySeedFile); err != nil {
			return nil, fmt.Errorf("NATS nkey seed file: %w", err)
		}
		opt, err := nats.NkeyOptionFromSeed(o.NkeySeedFile)
		if err != nil {
			// nats.go's message names the file, not the seed.
			return nil, fmt.Errorf("NATS nkey seed file %s: not a user seed", o.NkeySeedFile)
		}
		opts = append(opts, opt)
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("NATS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("NATS CA file %s: no PEM certificate in it", o.CAFile)
		}
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return opts, nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// isTLS reports whether err is a failed TLS handshake or a TLS mismatch.
func isTLS(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &verify) || errors.As(err, &record) ||
		errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) ||
		strings.Contains(err.Error(), "tls:")
}
