package natsjs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Store is events.Store on a NATS JetStream stream. It is safe for
// concurrent use by many goroutines, and many processes on many machines
// may open stores on the same stream at once.
type Store struct {
	opts  Options
	n     names
	where string // the URL as it may be printed
	nc    *nats.Conn
	js    jetstream.JetStream
	owner jetstream.KeyValue
	// refused are the subjects the server refused this user's publishes to.
	refused *denials
	// watch says when the connection breaks; replies is its one reply
	// subscription, which every request shares.
	watch   *connWatch
	replies replies
	// ix is Query's index, built on the first Query.
	ix index
	// leaseTTL is the owners bucket's TTL: an owner refreshes by it.
	leaseTTL time.Duration

	mu     sync.Mutex
	last   map[string]mark  // bottle -> its newest event this store knows of
	hints  map[seqOf]uint64 // (bottle, seq) -> stream sequence, for locate
	closed bool
	done   chan struct{}
}

// mark is where an event of a bottle is: its seq and its stream sequence.
type mark struct{ seq, pos uint64 }

// seqOf names an event by its bottle and seq.
type seqOf struct {
	bottle string
	seq    uint64
}

var _ events.Store = (*Store)(nil)

// Open connects to the server, checks that it has JetStream, and creates
// the stream and the owners bucket unless they exist (a store that finds
// them keeps their limits: whoever created them chose). Every failure is
// an error at once, naming the server and what to do; nothing waits for a
// server that is not there.
func Open(ctx context.Context, o Options) (*Store, error) {
	o = o.withDefaults()
	refused, watch := &denials{}, newConnWatch()
	nc, where, err := dial(o, refused, watch)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: o, n: namesFor(o.Prefix), where: where, nc: nc, refused: refused, watch: watch, last: map[string]mark{}, hints: map[seqOf]uint64{}, done: make(chan struct{})}
	if err := s.replies.subscribe(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	if s.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	if err := s.setUp(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// dial checks o (with its defaults) and connects as it says; where is
// the server as it may be printed.
func dial(o Options, refused *denials, watch *connWatch) (nc *nats.Conn, where string, err error) {
	if where, err = o.check(); err != nil {
		return nil, "", err
	}
	nopts, err := o.natsOptions(refused, watch)
	if err != nil {
		return nil, "", err
	}
	if nc, err = nats.Connect(o.URL, nopts...); err != nil {
		return nil, "", classifyConnect(where, err)
	}
	return nc, where, nil
}

// setUp checks JetStream and creates what is missing.
func (s *Store) setUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := checkJetStream(ctx, s.js, s.where); err != nil {
		return err
	}
	cfg := streamConfig(s.n, s.opts)
	// Look before creating: a user whose permissions allow only reading
	// the stream's info (a sidecar's, see the README) can use what an
	// operator's process created.
	_, err := s.js.Stream(ctx, s.n.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && s.opts.NoCreate {
		err = ErrNotMade
	} else if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another process created it meanwhile
		}
	}
	if err != nil {
		return fmt.Errorf("NATS server at %s: stream %s: %w", s.where, s.n.stream, err)
	}
	kv, err := s.js.KeyValue(ctx, s.n.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && s.opts.NoCreate {
		err = ErrNotMade
	} else if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.createBucket(ctx)
	}
	if err != nil {
		return fmt.Errorf("NATS server at %s: owners bucket %s: %w", s.where, s.n.bucket, err)
	}
	s.owner = kv
	s.leaseTTL = s.opts.LeaseTTL
	if st, err := kv.Status(ctx); err == nil && st.TTL() > 0 {
		s.leaseTTL = st.TTL() // the bucket's, which its creator chose
	}
	return nil
}

// checkJetStream asks the server for JetStream, saying what to do when it
// has none.
func checkJetStream(ctx context.Context, js jetstream.JetStream, where string) error {
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("NATS server at %s: %w: start it with JetStream (nats-server -js, or jetstream {} in its configuration)", where, ErrNoJetStream)
		}
		return fmt.Errorf("NATS server at %s: ask for JetStream: %w", where, err)
	}
	return nil
}

// streamConfig is the stream a store creates (the package doc).
func streamConfig(n names, o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        n.stream,
		Description: "bot-bottle's shared event channel: denials, proposals, decisions, reloads, lifecycles",
		Subjects:    []string{n.events()},
		Retention:   jetstream.LimitsPolicy,
		// The per-subject bound is the retention: a subject is one kind
		// of one bottle, so the latest of each survives (Latest), and
		// no stream-wide bound can drop a bottle's newest event and
		// restart its seqs.
		MaxMsgsPerSubject: int64(o.Retain),
		MaxMsgSize:        int32(events.MaxPayloadSize + 16<<10),
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		Replicas:          o.Replicas,
		Duplicates:        o.Dedup,
		AllowDirect:       true,
		// The doorbell: each stored event's headers, republished after
		// it is stored, so a follower woken by it finds the event.
		RePublish: &jetstream.RePublish{Source: n.events(), Destination: n.bells(), HeadersOnly: true},
	}
}

// createBucket creates the owners bucket, or opens the one another
// process created meanwhile.
func (s *Store) createBucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      s.n.bucket,
		Description: "bot-bottle's owners: one entry per running bottle, refreshed by its owner, expiring when it stops",
		TTL:         s.opts.LeaseTTL,
		History:     1,
		Replicas:    s.opts.Replicas,
		Storage:     jetstream.FileStorage,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return s.js.KeyValue(ctx, s.n.bucket) // as its creator made it
	}
	return kv, err
}

// Where is the server's URL as it may be printed.
func (s *Store) Where() string { return s.where }

// Sync returns once the server has every event Append returned: a
// JetStream acknowledgement means the event is stored (on a quorum of
// replicas in a cluster), so there is nothing left to wait for here. How
// often a server writes its files to the disk is its own setting
// (sync_interval).
func (s *Store) Sync(ctx context.Context) error {
	if s.isClosed() {
		return events.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout) // nats.go wants a deadline
	defer cancel()
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return s.opErr(ctx, "sync", err)
	}
	return nil
}

// Close closes the connection; followers return events.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.nc.Close()
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
