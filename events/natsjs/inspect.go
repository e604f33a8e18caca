package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Finding is one line of Inspect's report.
type Finding struct {
	// Failed: the channel cannot work as the package doc describes (a
	// follower would miss events, a bottle's seqs could restart, reads
	// fail). A finding not Failed is fine, or a warning (Warn).
	Failed, Warn bool
	// What is the thing checked ("stream", "bucket"); Detail what was
	// found; Hint what to do, when there is something to do.
	What, Detail, Hint string
}

// Inspect connects to the server o names and checks, creating nothing,
// what a Store needs there: JetStream, the events stream and the owners
// bucket as the package doc describes them. A stream or bucket that does
// not exist yet is fine (the first Store makes it). Connecting and asking
// for JetStream fail as Open does (ErrUnreachable, ErrAuth, ErrTLS,
// ErrNoJetStream); what Inspect finds on the server is in its findings.
func Inspect(ctx context.Context, o Options) ([]Finding, error) {
	o = o.withDefaults() // inspectStream compares with the defaults
	nc, where, err := dial(o, &denials{}, newConnWatch())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := checkJetStream(ctx, js, where); err != nil {
		return nil, err
	}
	n := namesFor(o.Prefix)
	out := []Finding{{What: "server", Detail: fmt.Sprintf("%s: NATS %s with JetStream", where, nc.ConnectedServerVersion())}}
	out = append(out, inspectStream(ctx, js, n, o))
	return append(out, inspectBucket(ctx, js, n)), nil
}

// inspectStream checks the events stream against streamConfig.
func inspectStream(ctx context.Context, js jetstream.JetStream, n names, o Options) Finding {
	f := Finding{What: "stream"}
	st, err := js.Stream(ctx, n.stream)
	if unread(&f, n.stream, n.stream, err, jetstream.ErrStreamNotFound) {
		return f
	}
	info := st.CachedInfo()
	cfg, want := info.Config, streamConfig(n, o)
	var bad, warn []string
	if !slices.Equal(cfg.Subjects, want.Subjects) {
		bad = append(bad, fmt.Sprintf("subjects %v, want %v", cfg.Subjects, want.Subjects))
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		bad = append(bad, fmt.Sprintf("retention %s removes events when they are read; want limits", cfg.Retention))
	}
	if cfg.MaxMsgs > 0 || cfg.MaxBytes > 0 || cfg.MaxAge > 0 {
		bad = append(bad, "a stream-wide limit (max messages, bytes or age) can remove a bottle's newest events, after which its seqs start again; bound per subject instead")
	}
	if cfg.MaxMsgsPerSubject > 0 && cfg.Discard != jetstream.DiscardOld {
		bad = append(bad, "discard new: a bottle whose kind reaches its bound can store no more of it; want discard old")
	}
	if !cfg.AllowDirect {
		bad = append(bad, "direct get is off, and every read uses it")
	}
	if r := cfg.RePublish; r == nil || r.Source != want.RePublish.Source || r.Destination != want.RePublish.Destination {
		warn = append(warn, fmt.Sprintf("no republish %s -> %s: followers notice new events only by polling (every 2s)", want.RePublish.Source, want.RePublish.Destination))
	}
	if cfg.Duplicates < time.Minute {
		warn = append(warn, fmt.Sprintf("a duplicate window of %s: an event sent again after it is stored twice", cfg.Duplicates))
	}
	if cfg.MaxMsgSize > 0 && cfg.MaxMsgSize < want.MaxMsgSize {
		warn = append(warn, fmt.Sprintf("messages up to %d bytes: larger events (up to %d) are refused", cfg.MaxMsgSize, want.MaxMsgSize))
	}
	f.Detail = fmt.Sprintf("%s: %d events (%s), replicas %d, at most %d per bottle and kind, duplicate window %s",
		n.stream, info.State.Msgs, mib(info.State.Bytes), cfg.Replicas, cfg.MaxMsgsPerSubject, cfg.Duplicates)
	switch {
	case len(bad) > 0:
		f.Failed, f.Detail = true, n.stream+": "+strings.Join(append(bad, warn...), "; ")
		f.Hint = "make the stream as the README's \"Many machines\" describes (or delete it, and the first bot-bottle makes it)"
	case len(warn) > 0:
		f.Warn, f.Detail = true, f.Detail+"; "+strings.Join(warn, "; ")
		f.Hint = "edit the stream (nats stream edit " + n.stream + ") as the README's \"Many machines\" describes"
	}
	return f
}

// inspectBucket checks the owners bucket: its entries must expire.
func inspectBucket(ctx context.Context, js jetstream.JetStream, n names) Finding {
	f := Finding{What: "bucket"}
	kv, err := js.KeyValue(ctx, n.bucket)
	if unread(&f, n.bucket, "KV_"+n.bucket, err, jetstream.ErrBucketNotFound) {
		return f
	}
	st, err := kv.Status(ctx)
	if err != nil {
		f.Failed, f.Detail = true, fmt.Sprintf("%s: read its status: %v", n.bucket, err)
		return f
	}
	if st.TTL() <= 0 {
		f.Failed, f.Detail = true, n.bucket+": its entries never expire, so a crashed machine's bottles never show as lost"
		f.Hint = "make the bucket with a TTL (nats kv add " + n.bucket + " --ttl 30s --history 1), or delete it and the first bot-bottle makes it"
		return f
	}
	f.Detail = fmt.Sprintf("%s: leases expire after %s unless refreshed (live now: %d)", n.bucket, st.TTL(), st.Values())
	return f
}

// unread fills f when the stream or bucket name (stored in stream) could
// not be read: not made yet is fine (the first Store makes it), any other
// error fails, naming the permission the user needs. It reports whether
// it filled f.
func unread(f *Finding, name, stream string, err, notFound error) bool {
	switch {
	case errors.Is(err, notFound):
		f.Detail = name + " is not made yet (the first bot-bottle that opens the channel makes it)"
	case err != nil:
		f.Failed, f.Detail = true, fmt.Sprintf("%s: read its configuration: %v", name, err)
		f.Hint = "the user needs $JS.API.STREAM.INFO." + stream + " (see the README's permissions)"
	default:
		return false
	}
	return true
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
