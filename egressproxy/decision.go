package egressproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/google/uuid"
)

// Decision is the proxy's verdict on one request (or CONNECT). Everything
// the proxy says about a refusal, the 403 body, the X-Bot-Bottle-Denial
// header, the decisions metric, the log line and the egress.denial event, is
// built from this one value.
type Decision struct {
	Allow  bool
	Reason Reason
	Route  string // the key of the route that matched ("host" or "host:port"), "" when none
	Host   string // normalised host as requested
	Port   int
	Method string
	Path   string // as sent, with the query redacted and any token redacted; "" for CONNECT
	// Rule names what a DLP refusal found ("aws-access-token",
	// "host-secret"), never the value; "" for other reasons.
	Rule string

	// The request target as sent, from which Path is made when the
	// decision is shown (a refusal, a log line): allowed requests skip it.
	rawPath, rawQuery string
}

func allow(d Decision, r *route) Decision {
	d.Allow, d.Reason = true, ReasonAllowed
	d.Route = r.key()
	return d
}

func deny(d Decision, reason Reason) Decision {
	d.Allow, d.Reason = false, reason
	return d
}

func (r *route) key() string {
	if r.port != 0 {
		return r.host + ":" + strconv.Itoa(r.port)
	}
	return r.host
}

// HeaderDenial is the response header that carries a denial's id.
const HeaderDenial = "X-Bot-Bottle-Denial"

// refuse records a refused (or failed) request and returns the response the
// client gets: status and JSON body from d.Reason, the denial id in a
// header. Policy refusals are published as events and kept in the
// recent-denials ring; upstream failures are only logged and counted.
func (p *Proxy) refuse(req *http.Request, d Decision, onDone func()) *http.Response {
	return denialResponse(req, d.Reason.Status(), p.record(d), onDone)
}

// record turns a refusal into its Denial and records it: see denialOf
// and emit.
func (p *Proxy) record(d Decision) schemas.Denial {
	den := p.denialOf(d)
	p.emit(d, den)
	return den
}

// denialOf builds the Denial of a refusal without recording it: a fresh
// id, the path as shown (query and tokens redacted).
func (p *Proxy) denialOf(d Decision) schemas.Denial {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	if d.Path == "" && d.rawPath != "" {
		d.Path = p.displayPath(d.rawPath, d.rawQuery)
	}
	if p.scan.foundString(d.Host) || p.scan.foundFolded([]byte(d.Host)) {
		d.Host = "[redacted]" // a host name can carry a token too (CONNECT <token>.example:443)
	}
	den := schemas.Denial{
		Error: d.Reason.Message(), ID: id.String(), Bottle: p.bottle,
		Host: d.Host, Port: d.Port, Method: d.Method, Path: d.Path,
		Reason: d.Reason.String(), Hint: d.Reason.Hint(), Time: time.Now().UTC(), Rule: d.Rule,
	}
	if d.Rule != "" {
		den.Error += " (dlp: " + d.Rule + ")"
	}
	return den
}

// emit records den, the refusal d: the metric, and for policy refusals the
// recent-denials ring, the event and the log line. Each denial id is
// emitted once.
func (p *Proxy) emit(d Decision, den schemas.Denial) {
	p.metrics.decision(d.Reason)
	if d.Reason.IsDenial() {
		p.denials.add(den)
		p.publish(schemas.KindDenial, den)
		p.log.Info("egress denied", "denial_id", den.ID, "reason", den.Reason, "method", den.Method,
			"host", den.Host, "port", den.Port, "path", den.Path, "rule", den.Rule)
	}
}

// denialResponse is the answer that carries den: its JSON as the body, its
// id in the X-Bot-Bottle-Denial header.
func denialResponse(req *http.Request, status int, den schemas.Denial, onDone func()) *http.Response {
	body, _ := json.Marshal(den) // a Denial always encodes
	body = append(body, '\n')
	resp := &http.Response{
		StatusCode:    status,
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		ContentLength: int64(len(body)),
		Body:          newDoneBody(io.NopCloser(bytes.NewReader(body)), onDone),
		Request:       req,
	}
	resp.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set(HeaderDenial, den.ID)
	return resp
}

// publish hands an event to the publisher, if any. Building it cannot fail
// for the payload types the proxy publishes.
func (p *Proxy) publish(kind schemas.Kind, payload any) {
	if p.pub == nil {
		return
	}
	ev, err := schemas.NewEvent(p.bottle, kind, payload)
	if err != nil {
		p.log.Error("build event", "kind", string(kind), "err", err)
		return
	}
	p.pub.Publish(ev)
}

// doneBody calls onDone once when the response body is closed: goproxy
// closes it after writing the response, which is when the request is no
// longer in flight. Before every read but the first it calls flush, so
// what was written to the client so far leaves before the proxy may wait on
// the upstream.
type doneBody struct {
	io.ReadCloser
	once   sync.Once
	onDone func()
	flush  func()
	reads  int
}

func newDoneBody(rc io.ReadCloser, onDone func()) io.ReadCloser {
	if onDone == nil {
		return rc
	}
	return &doneBody{ReadCloser: rc, onDone: onDone}
}

func (b *doneBody) Read(p []byte) (int, error) {
	if b.reads > 0 && b.flush != nil {
		b.flush()
	}
	b.reads++
	return b.ReadCloser.Read(p)
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.onDone)
	return err
}

// denialRing keeps the most recent denials for /denials and RecentDenials.
type denialRing struct {
	mu   sync.Mutex
	buf  []schemas.Denial
	next int
	full bool
}

const denialRingSize = 256

func (r *denialRing) add(d schemas.Denial) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		r.buf = make([]schemas.Denial, denialRingSize)
	}
	r.buf[r.next] = d
	r.next = (r.next + 1) % denialRingSize
	if r.next == 0 {
		r.full = true
	}
}

// last returns up to n denials, oldest first.
func (r *denialRing) last(n int) []schemas.Denial {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := r.next
	if r.full {
		size = denialRingSize
	}
	n = min(max(n, 0), size)
	out := make([]schemas.Denial, 0, n)
	for i := n; i > 0; i-- {
		out = append(out, r.buf[(r.next-i+denialRingSize)%denialRingSize])
	}
	return out
}

// discardLogger drops everything: the logger of a Proxy configured without one.
var discardLogger = slog.New(slog.DiscardHandler)
