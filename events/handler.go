package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// EventsPath is where the control plane takes batches from sidecars.
const EventsPath = "/v1/events"

// Batch is the body of POST /v1/events.
type Batch struct {
	Events []schemas.Event `json:"events"`
}

// BatchResult is the answer to a Batch, sent only after the store
// committed it: the sidecar may forget every event it sent, including the
// rejected ones, which no retry would make acceptable.
type BatchResult struct {
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected,omitempty"`
}

// Rejection names an event of a batch the control plane refused, and why.
type Rejection struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	Error string `json:"error"`
}

// SidecarKinds are the kinds a sidecar produces, the default of
// HandlerOptions.Kinds.
var SidecarKinds = []schemas.Kind{schemas.KindDenial, schemas.KindReload}

// HandlerOptions restrict what a control plane accepts from its sidecars.
type HandlerOptions struct {
	// Kinds a sender may publish (default SidecarKinds). A sidecar has no
	// business publishing a review decision: refusing other kinds keeps a
	// compromised sidecar from approving its own egress.
	Kinds []schemas.Kind
	// Bottle, if set, is the only bottle the sender may publish for: serve
	// one handler per bottle on a socket of its own to bind a sidecar to
	// its bottle by the socket it reaches, not by what it claims.
	Bottle string
	// MaxBatch bounds the events in one request (default 1000).
	MaxBatch int
	Metrics  *Metrics
	Logger   *slog.Logger // default slog.Default()
}

// handler appends sidecars' batches to a Store.
type handler struct {
	store Store
	opts  HandlerOptions
	m     *Metrics
}

// NewHandler returns the control plane's endpoint for sidecars: POST
// /v1/events with a Batch appends the acceptable events to store and
// answers a BatchResult once they are committed and on disk (Store.Sync) (200), 400 for a body that
// is not a Batch, 413 for too many events, and 503 when the store failed
// (the sidecar retries). Serve it on a unix socket that only sidecars can
// reach (see ListenControl).
func NewHandler(store Store, opts HandlerOptions) http.Handler {
	if len(opts.Kinds) == 0 {
		opts.Kinds = SidecarKinds
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+EventsPath, &handler{store: store, opts: opts, m: opts.Metrics.OrNew()})
	return mux
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, int64(h.opts.MaxBatch)*(MaxPayloadSize+1024))
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var b Batch
	if err := dec.Decode(&b); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("batch is larger than %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "decode batch: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(b.Events) > h.opts.MaxBatch {
		http.Error(w, fmt.Sprintf("batch has %d events, more than %d", len(b.Events), h.opts.MaxBatch), http.StatusRequestEntityTooLarge)
		return
	}
	var res BatchResult
	valid := make([]schemas.Event, 0, len(b.Events))
	for i, ev := range b.Events {
		if err := h.check(ev); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, ID: ev.ID, Error: err.Error()})
			continue
		}
		valid = append(valid, ev)
	}
	stored, err := h.store.Append(r.Context(), valid)
	if err == nil {
		err = h.store.Sync(r.Context()) // the sidecar forgets what is acknowledged
	}
	if err != nil {
		h.m.AppendErrors.Inc()
		h.opts.Logger.Warn("event handler: append failed; the sidecar will retry", "events", len(valid), "error", err)
		http.Error(w, "append: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	res.Stored, res.Duplicates = len(stored), len(valid)-len(stored)
	h.m.Dropped.WithLabelValues(DropRejected).Add(float64(len(res.Rejected)))
	if len(res.Rejected) > 0 {
		h.opts.Logger.Warn("event handler: rejected events from a sidecar", "rejected", len(res.Rejected), "first", res.Rejected[0].Error)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// check reports why the sender may not publish ev, or nil.
func (h *handler) check(ev schemas.Event) error {
	if _, err := Prepare(ev); err != nil {
		return err
	}
	if !slices.Contains(h.opts.Kinds, ev.Kind) {
		return fmt.Errorf("event %s: kind %q is not accepted from this sender (accepted: %v)", ev.ID, ev.Kind, h.opts.Kinds)
	}
	if h.opts.Bottle != "" && ev.Bottle != h.opts.Bottle {
		return fmt.Errorf("event %s: bottle %q is not this sender's bottle", ev.ID, ev.Bottle)
	}
	return nil
}
