package terminal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Interactive is `review -i`: the desk and what the person answers.
type Interactive struct {
	Desk *review.Desk
	In   io.Reader
	Out  io.Writer
	// Bottle, when set, limits the session to one bottle's proposals.
	Bottle string
	// Decide publishes a decision and reports its outcome (the CLI prints
	// it, and its errors, its own way).
	Decide func(ctx context.Context, dec schemas.Decision)
}

// prompt lists the answers; the keys are the ones a person types.
const prompt = "approve for this bottle [y], approve and persist [p], deny [n], modify [m], skip [s]? "

// releasePrompt is the prompt for a held request or a refused push, which
// is let through once or refused: there is no route to persist or modify.
const releasePrompt = "release it once [y], refuse [n], skip [s]? "

// Run shows each pending proposal, then each new one as it arrives, with
// its evidence, and asks what to do with it, until In ends or ctx does.
func (r *Interactive) Run(ctx context.Context) error {
	queue := make(chan review.View, 64)
	seen := map[string]bool{}
	head, err := r.Desk.Head(ctx)
	if err != nil {
		return err
	}
	views, err := r.Desk.Proposals(ctx, review.Filter{Bottle: r.Bottle, Status: schemas.ProposalPending})
	if err != nil {
		return err
	}
	slices.Reverse(views) // oldest first
	for _, v := range views {
		seen[v.ID] = true
		queue <- v
	}
	go func() {
		// Seen and followed in this one goroutine: a proposal listed above
		// and stored after head is shown once.
		_ = r.Desk.Watch(ctx, head, func(u review.Update) {
			p := u.Proposal
			if p == nil || seen[p.ID] || (r.Bottle != "" && p.Bottle != r.Bottle) {
				return
			}
			seen[p.ID] = true
			select {
			case queue <- review.View{Proposal: *p, Status: schemas.ProposalPending}:
			case <-ctx.Done():
			}
		})
	}()
	lines, eof := make(chan string), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r.In)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(eof) // no more answers can come: stop waiting
	}()
	ask := func(q string) (string, bool) {
		fmt.Fprint(r.Out, q)
		select {
		case l := <-lines:
			return strings.TrimSpace(l), true
		case <-eof:
			return "", false
		case <-ctx.Done():
			return "", false
		}
	}
	fmt.Fprintln(r.Out, "waiting for proposals (Ctrl-C to stop)")
	for {
		var v review.View
		select {
		case v = <-queue:
		case <-eof:
			return nil
		case <-ctx.Done():
			return nil
		}
		ev := r.Desk.Evidence(ctx, v)
		PrintProposal(r.Out, v, &ev)
		if !r.answer(ctx, v, ask) {
			return nil
		}
	}
}

// answer asks about v until the person gives an answer it understands; it
// returns false when no more answers can come.
func (r *Interactive) answer(ctx context.Context, v review.View, ask func(string) (string, bool)) bool {
	routes := review.ChangesRoutes(v.Kind)
	q := prompt
	if !routes {
		q = releasePrompt
	}
	for {
		answer, ok := ask(q)
		if !ok {
			return false
		}
		dec := schemas.Decision{ProposalID: v.ID, DecidedBy: schemas.DecidedByCLI, Scope: schemas.ScopeOnce}
		a := strings.ToLower(answer)
		if !routes && (a == "p" || a == "m") {
			fmt.Fprintf(r.Out, "%s: a %s is released once or refused; it changes no route, so there is nothing to persist or modify\n",
				a, review.KindName(v.Kind))
			continue
		}
		switch a {
		case "y", "yes":
			dec.Action = schemas.ActionApprove
		case "p":
			dec.Action, dec.Scope = schemas.ActionApprove, schemas.ScopePersist
		case "n", "no":
			reason, ok := ask("reason (the agent reads it): ")
			if !ok {
				return false
			}
			dec.Action, dec.Scope, dec.Reason = schemas.ActionDeny, "", reason
		case "m":
			route, ok := AskRoute(v, ask)
			if !ok {
				return false
			}
			if dec.For, ok = r.askFor(ask); !ok {
				return false
			}
			dec.Action, dec.Route = schemas.ActionModify, route
		case "s", "":
			fmt.Fprintln(r.Out, "skipped")
			return true
		default:
			continue
		}
		r.Decide(ctx, dec)
		return true
	}
}

// askFor asks how long a modified route lasts, until the answer is empty
// (the bottle's life) or a duration in bounds.
func (r *Interactive) askFor(ask func(string) (string, bool)) (string, bool) {
	for {
		answer, ok := ask(fmt.Sprintf("remove it again after (e.g. 30m, up to %s) [the bottle's life]: ", review.FormatFor(review.MaxFor)))
		if !ok {
			return "", false
		}
		lim, err := review.ParseFor("time limit", answer)
		if err == nil {
			return review.FormatFor(lim), true
		}
		fmt.Fprintln(r.Out, err)
	}
}

// AskRoute edits a proposal's paths and methods at the prompt: an empty
// answer keeps the proposed ones, * allows all.
func AskRoute(v review.View, ask func(string) (string, bool)) (*schemas.Route, bool) {
	paths, ok := ask(fmt.Sprintf("path prefixes, space-separated, * for all [%s]: ", line(strings.Join(v.PathPrefixes, " "))))
	if !ok {
		return nil, false
	}
	methods, ok := ask(fmt.Sprintf("methods, space-separated, * for all [%s]: ", line(strings.Join(v.Methods, " "))))
	if !ok {
		return nil, false
	}
	return review.EditRoute(v, paths, methods), true
}
