package egressproxy

import (
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Reload replaces the routes table atomically: each request is checked
// against the old table or the new one, never a mix, and connections in
// flight are not touched. An invalid table (or one naming a slot without a
// token) is refused and the old one stays. Either way a reload event is
// published and logged; source says who asked ("api", "sighup",
// "decision").
func (p *Proxy) Reload(rf *schemas.RoutesFile, source string) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	old := p.table.Load()
	ev := schemas.Reload{Source: source, Before: len(old.file.Routes), BeforeDigest: old.digest}
	t, err := compileTable(rf, p.tokens)
	if err != nil {
		err = fmt.Errorf("reload routes (%s): %w", source, err)
		ev.Error, ev.After, ev.AfterDigest = err.Error(), ev.Before, ev.BeforeDigest
		p.metrics.reloads.WithLabelValues("error").Inc()
		p.log.Error("routes reload refused; keeping the old table", "source", source, "err", err)
		p.publish(schemas.KindReload, ev)
		return err
	}
	p.table.Store(t)
	ev.OK, ev.After, ev.AfterDigest = true, len(t.file.Routes), t.digest
	p.metrics.reloads.WithLabelValues("ok").Inc()
	p.log.Info("routes reloaded", "source", source, "routes", ev.After, "digest", t.digest)
	p.publish(schemas.KindReload, ev)
	return nil
}

// ReloadError records a reload that failed before there was a table to
// offer, such as a routes file that does not parse: the old table stays, and
// the error is logged and published like any refused reload.
func (p *Proxy) ReloadError(source string, err error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	old := p.table.Load()
	n := len(old.file.Routes)
	ev := schemas.Reload{Source: source, Error: err.Error(), Before: n, After: n, BeforeDigest: old.digest, AfterDigest: old.digest}
	p.metrics.reloads.WithLabelValues("error").Inc()
	p.log.Error("routes reload refused; keeping the old table", "source", source, "err", err)
	p.publish(schemas.KindReload, ev)
}
