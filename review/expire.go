package review

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// A proposal of a bottle that ended expires: nothing is left to apply a
// decision to, and a pending one would otherwise wait forever on every
// operator's list. Whoever notices the end first publishes an Expired event
// per pending proposal: the owner as its bottle ends (Owner.End), or any
// process whose desk finds the owner gone (Desk.ExpireEnded, which listing
// and deciding run). The event's id is derived from the proposal, so
// noticing twice, in one process or several, stores one event; the first
// outcome stored, an Applied or an Expired, stands.

// ErrExpired is returned (wrapped) when deciding a proposal whose bottle
// ended. It wraps ErrBottleGone: the bottle is not running either.
var ErrExpired = fmt.Errorf("proposal expired: %w", ErrBottleGone)

// Ending is how a bottle ended, for the proposals it leaves pending.
type Ending struct {
	At    time.Time
	State string // exited | failed
	Why   string // "exited with code 0", "its owner (pid 42) is gone"
}

// EndingOf describes the end recorded by a bottle's terminal lifecycle
// event, published at at.
func EndingOf(at time.Time, lc schemas.Lifecycle) Ending {
	e := Ending{At: at.UTC(), State: lc.State}
	switch {
	case lc.Error != "":
		e.Why = lc.State + ": " + oneLine(lc.Error, 200)
	case lc.ExitCode != nil:
		e.Why = fmt.Sprintf("%s with code %d", lc.State, *lc.ExitCode)
	default:
		e.Why = lc.State
	}
	return e
}

// expired is the record of proposal p expiring at the end e.
func (e Ending) expired(p schemas.Proposal, by string) schemas.Expired {
	return schemas.Expired{ProposalID: p.ID, Bottle: p.Bottle, EndedAt: e.At, State: e.State, Why: e.Why, NoticedBy: by}
}

// End expires every proposal of this owner still pending, publishing an
// Expired for each and answering the agent's waiting calls with it. The
// process that owns the bottle calls it once the bottle has ended; from
// then on the owner refuses new requests and applies no decision. It
// returns how many proposals expired.
func (o *Owner) End(e Ending) int {
	o.applying.Lock() // a decision being applied finishes first
	defer o.applying.Unlock()
	o.mu.Lock()
	o.ended = &e
	var pending []*tracked
	for _, t := range o.props {
		if t.result == nil {
			pending = append(pending, t)
		}
	}
	o.mu.Unlock()
	o.stopGrants()
	by := fmt.Sprintf("owner (pid %d)", os.Getpid())
	for _, t := range pending {
		x := e.expired(t.prop, by)
		ev, err := schemas.NewExpiredEvent(x)
		if err != nil {
			o.cfg.Logger.Error("review: encode expiry", "proposal", t.prop.ID, "err", err)
		} else {
			o.cfg.Channel.Publish(ev)
		}
		o.settle(t.prop.ID, Result{Status: schemas.ProposalExpired, ProposalID: t.prop.ID, Notes: x.Notes(), Delta: t.prop.Delta})
	}
	return len(pending)
}

// endedLocked says why the owner takes no more requests, or "" while its
// bottle runs; o.mu is held.
func (o *Owner) endedLocked() string {
	if o.ended == nil {
		return ""
	}
	return fmt.Sprintf("the bottle ended at %s (%s)", o.ended.At.Format(time.RFC3339), o.ended.Why)
}

// ExpireEnded expires the pending proposals of every bottle that no longer
// runs (DeskConfig.Running says so) and returns how many expired. Listing
// and deciding call it; so do the CLI's ps and cleanup, which find dead
// owners. Without a Running function it does nothing: it cannot tell.
func (d *Desk) ExpireEnded(ctx context.Context) (int, error) {
	views, err := project(ctx, d.cfg.Channel.Store(), "")
	if err != nil {
		return 0, err
	}
	return d.expireEnded(ctx, views)
}

// ExpireBottle is ExpireEnded for one bottle: it reads only that bottle's
// events, for a caller that already knows which bottle's owner is gone.
func (d *Desk) ExpireBottle(ctx context.Context, bottle string) (int, error) {
	views, err := project(ctx, d.cfg.Channel.Store(), bottle)
	if err != nil {
		return 0, err
	}
	return d.expireEnded(ctx, views)
}

// expireEnded expires, in views and on the channel, the pending proposals
// of the bottles that no longer run.
func (d *Desk) expireEnded(ctx context.Context, views []View) (int, error) {
	if d.cfg.Running == nil {
		return 0, nil
	}
	ended := map[string]bool{}
	var endings map[string]Ending
	n := 0
	for i := range views {
		v := &views[i]
		if v.Status != schemas.ProposalPending {
			continue
		}
		gone, checked := ended[v.Bottle]
		if !checked {
			running, err := d.cfg.Running(ctx, v.Bottle)
			if err != nil {
				return n, fmt.Errorf("is bottle %s running: %w", v.Bottle, err)
			}
			gone, ended[v.Bottle] = !running, !running
		}
		if !gone {
			continue
		}
		if endings == nil {
			var err error
			if endings, err = d.endings(ctx); err != nil {
				return n, err
			}
		}
		e, ok := endings[v.Bottle]
		if !ok {
			e = Ending{At: d.cfg.Now().UTC(), State: schemas.StateFailed,
				Why: "the registry has no record of it running; the time is when that was noticed"}
		}
		x := e.expired(v.Proposal, fmt.Sprintf("pid %d", os.Getpid()))
		ev, err := schemas.NewExpiredEvent(x)
		if err != nil {
			return n, err
		}
		d.cfg.Channel.Publish(ev)
		v.Expired, v.Status = &x, schemas.ProposalExpired
		n++
	}
	return n, nil
}

// endings reads from the registry how each bottle ended, or, for one whose
// latest state is not terminal (its owner died without saying so), that
// it is gone as of now.
func (d *Desk) endings(ctx context.Context) (map[string]Ending, error) {
	evs, err := d.cfg.Channel.Store().Latest(ctx, schemas.KindLifecycle)
	if err != nil {
		return nil, fmt.Errorf("read how bottles ended: %w", err)
	}
	out := make(map[string]Ending, len(evs))
	for _, ev := range evs {
		var lc schemas.Lifecycle
		if ev.Decode(&lc) != nil {
			continue
		}
		if schemas.TerminalState(lc.State) {
			out[ev.Bottle] = EndingOf(ev.Time, lc)
			continue
		}
		why := "its owner died"
		if lc.Owner > 0 {
			why = fmt.Sprintf("its owner (pid %d) died", lc.Owner)
		}
		out[ev.Bottle] = Ending{At: d.cfg.Now().UTC(), State: schemas.StateFailed,
			Why: why + " without recording the end; the time is when that was noticed"}
	}
	return out, nil
}

// oneLine flattens text for a one-line note: no control characters,
// bounded length.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}
