package natsjs

import (
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrPermission: the server refused a publish to a subject this user may
// not publish to (a sidecar's user publishing another bottle's events, or
// a decision).
var ErrPermission = errors.New("the NATS server refused this user's publish (permissions)")

// denials remembers the subjects the server refused to take from this
// connection, and when: a refused publish gets no answer, only an
// asynchronous error, which request looks up instead of waiting out its
// timeout.
type denials struct {
	mu   sync.Mutex
	last map[string]time.Time
	bell chan struct{} // closed (and replaced) when a refusal is noted
}

var violationSubject = regexp.MustCompile(`(?i)publish to "([^"]+)"`)

// note records err if it is a permissions violation.
func (d *denials) note(err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	m := violationSubject.FindStringSubmatch(err.Error())
	if m == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || len(d.last) > 1000 {
		d.last = map[string]time.Time{}
	}
	d.last[m[1]] = time.Now()
	if d.bell != nil {
		close(d.bell)
		d.bell = nil
	}
}

// signal returns a channel closed when the next refusal is noted.
func (d *denials) signal() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bell == nil {
		d.bell = make(chan struct{})
	}
	return d.bell
}

// since reports whether a publish to subject was refused at or after t.
func (d *denials) since(subject string, t time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.last[subject]
	return ok && !at.Before(t)
}
