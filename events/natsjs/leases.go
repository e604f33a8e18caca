package natsjs

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/nats-io/nats.go/jetstream"
)

// Lease takes or refreshes the owners bucket's entry of bottle, holding
// owner (pid/start@machine, never a secret). It lives Options.LeaseTTL
// unless refreshed: an owner refreshes it a third of that apart, so a
// machine that crashes or is cut off shows its bottles as lost within
// LeaseTTL. (launcher.Leases)
func (s *Store) Lease(ctx context.Context, bottle, owner string) error {
	if s.isClosed() {
		return events.ErrClosed
	}
	if _, err := s.owner.PutString(ctx, key(bottle), owner); err != nil {
		return s.opErr(ctx, "lease bottle "+bottle, err)
	}
	return nil
}

// Release removes bottle's entry: it ended.
func (s *Store) Release(ctx context.Context, bottle string) error {
	if s.isClosed() {
		return events.ErrClosed
	}
	if err := s.owner.Purge(ctx, key(bottle)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return s.opErr(ctx, "release bottle "+bottle, err)
	}
	return nil
}

// Leased returns the bottles whose entry is live.
func (s *Store) Leased(ctx context.Context) (map[string]bool, error) {
	if s.isClosed() {
		return nil, events.ErrClosed
	}
	keys, err := s.owner.ListKeys(ctx)
	if err != nil {
		return nil, s.opErr(ctx, "list leases", err)
	}
	defer keys.Stop()
	out := map[string]bool{}
	for k := range keys.Keys() {
		if b, ok := unkey(k); ok {
			out[b] = true
		}
	}
	return out, nil
}

// Held reports whether bottle's entry is live: one key's read, for a
// process waiting on one bottle's owner (Leased lists the bucket).
func (s *Store) Held(ctx context.Context, bottle string) (bool, error) {
	if s.isClosed() {
		return false, events.ErrClosed
	}
	_, err := s.owner.Get(ctx, key(bottle))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil // never taken, released, or lapsed
	case err != nil:
		return false, s.opErr(ctx, "read the lease of bottle "+bottle, err)
	}
	return true, nil
}

// LeaseTTL is how long an entry lives unless refreshed: the bucket's TTL,
// which whoever created it chose.
func (s *Store) LeaseTTL() time.Duration { return s.leaseTTL }

// unkey reads a bottle id back from its key (token's inverse).
func unkey(k string) (string, bool) {
	enc, ok := strings.CutPrefix(k, "=")
	if !ok {
		return k, true
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	return string(b), err == nil
}
