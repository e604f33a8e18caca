package natsjs

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors a caller (the CLI) turns into advice.
var (
	// ErrUnreachable: no NATS server answered at the URL.
	ErrUnreachable = errors.New("no NATS server answers")
	// ErrAuth: the server refused the credentials (or asked for some).
	ErrAuth = errors.New("the NATS server refused the credentials")
	// ErrNoJetStream: the server runs without JetStream.
	ErrNoJetStream = errors.New("the NATS server has no JetStream")
	// ErrTLS: the TLS handshake failed (an unknown CA, a wrong name, a
	// server without TLS).
	ErrTLS = errors.New("TLS with the NATS server failed")
	// ErrNotMade: Options.NoCreate, and the stream or the bucket is not
	// there yet.
	ErrNotMade = errors.New("the NATS event channel is not made yet")
)

// Redact returns a NATS URL as it may be printed: without the user
// information, where a token or a password could be.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(an unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// classifyConnect names what went wrong connecting, wrapping one of the
// errors above. nats.go's errors never carry the credentials; the URL in
// the message is the redacted one.
func classifyConnect(where string, err error) error {
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return fmt.Errorf("connect to %s: %w (%v)", where, ErrAuth, err)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("connect to %s: %w (%v)", where, ErrUnreachable, err)
	case isTLS(err):
		return fmt.Errorf("connect to %s: %w: %v", where, ErrTLS, err)
	}
	return fmt.Errorf("connect to %s: %w", where, err)
}

// opErr wraps the error of an operation on the store: ErrClosed after
// Close, the context's error when it ended, else the operation and subject.
func (s *Store) opErr(ctx context.Context, op string, err error) error {
	if s.isClosed() {
		return events.ErrClosed
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s on NATS event stream %s at %s: %w", op, s.n.stream, s.where, ctx.Err())
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		err = fmt.Errorf("%w: %w", ErrNoJetStream, err)
	}
	return fmt.Errorf("%s on NATS event stream %s at %s: %w", op, s.n.stream, s.where, err)
}
