package cli

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

// modifyFlags edit a proposal's route for `review modify`.
type modifyFlags struct {
	paths, methods []string
	allPaths       bool
	authScheme     string
	tokenRef       string
}

func (m *modifyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&m.paths, "path", nil, "a path prefix to allow (repeat); replaces the proposed ones")
	f.BoolVar(&m.allPaths, "all-paths", false, "allow every path on the host")
	f.StringArrayVar(&m.methods, "method", nil, "an HTTP method to allow (repeat); replaces the proposed ones")
	f.StringVar(&m.authScheme, "auth-scheme", "", "inject credentials: Bearer, token or Basic (needs --token-ref and --persist)")
	f.StringVar(&m.tokenRef, "token-ref", "", "the HOST variable holding the credential (never the value)")
}

// route builds the operator's route from the proposal and the flags.
func (m *modifyFlags) route(v review.View) (*schemas.Route, error) {
	r := &schemas.Route{Host: v.Host, Port: v.Port, PathAllowlist: v.PathPrefixes, Methods: v.Methods}
	if len(m.paths) > 0 {
		r.PathAllowlist = m.paths
	}
	if m.allPaths {
		r.PathAllowlist = nil
	}
	if len(m.methods) > 0 {
		r.Methods = nil
		for _, meth := range m.methods {
			r.Methods = append(r.Methods, strings.ToUpper(meth))
		}
	}
	if m.authScheme != "" || m.tokenRef != "" {
		if m.authScheme == "" || m.tokenRef == "" {
			return nil, &usageError{msg: "auth needs both --auth-scheme and --token-ref"}
		}
		r.Auth = &schemas.Auth{Scheme: m.authScheme, TokenRef: m.tokenRef}
	}
	return r, nil
}

// reviewInteractive shows each pending proposal, then each new one as it
// arrives, and asks what to do with it.
func (c *cli) reviewInteractive(ctx context.Context, d *reviewDesk, bottle string) error {
	ctx, cancel := signalContext(ctx)
	defer cancel()
	queue := make(chan review.View, 64)
	seen := map[string]bool{}
	views, err := d.desk.Proposals(ctx, review.Filter{Bottle: bottle, Status: schemas.ProposalPending})
	if err != nil {
		return err
	}
	slices.Reverse(views) // oldest first
	for _, v := range views {
		seen[v.ID] = true
		queue <- v
	}
	go func() {
		_ = d.desk.Follow(ctx, func(ev schemas.Event) {
			var p schemas.Proposal
			if ev.Decode(&p) != nil || seen[p.ID] || (bottle != "" && p.Bottle != bottle) {
				return
			}
			seen[p.ID] = true
			select {
			case queue <- review.View{Proposal: p, Status: schemas.ProposalPending}:
			case <-ctx.Done():
			}
		}, schemas.KindProposal)
	}()
	lines, eof := make(chan string), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(c.stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(eof) // no more answers can come: stop waiting
	}()
	ask := func(prompt string) (string, bool) {
		fmt.Fprint(c.stdout, prompt)
		select {
		case l := <-lines:
			return strings.TrimSpace(l), true
		case <-eof:
			return "", false
		case <-ctx.Done():
			return "", false
		}
	}
	fmt.Fprintln(c.stdout, "waiting for proposals (Ctrl-C to stop)")
	for {
		var v review.View
		select {
		case v = <-queue:
		case <-eof:
			return nil
		case <-ctx.Done():
			return nil
		}
		printProposal(c, v)
		for {
			answer, ok := ask("approve for this bottle [y], approve and persist [p], deny [n], modify [m], skip [s]? ")
			if !ok {
				return nil
			}
			dec := schemas.Decision{ProposalID: v.ID, DecidedBy: schemas.DecidedByCLI, Scope: schemas.ScopeOnce}
			switch strings.ToLower(answer) {
			case "y", "yes":
				dec.Action = schemas.ActionApprove
			case "p":
				dec.Action, dec.Scope = schemas.ActionApprove, schemas.ScopePersist
			case "n", "no":
				reason, ok := ask("reason (the agent reads it): ")
				if !ok {
					return nil
				}
				dec.Action, dec.Scope, dec.Reason = schemas.ActionDeny, "", reason
			case "m":
				route, ok := c.askRoute(v, ask)
				if !ok {
					return nil
				}
				dec.Action, dec.Route = schemas.ActionModify, route
			case "s", "":
				fmt.Fprintln(c.stdout, "skipped")
			default:
				continue
			}
			if dec.Action != "" {
				if err := c.decide(ctx, d, dec); err != nil {
					printError(c.stderr, err)
				}
			}
			break
		}
	}
}

// askRoute edits the proposal's paths and methods at the prompt.
func (c *cli) askRoute(v review.View, ask func(string) (string, bool)) (*schemas.Route, bool) {
	paths, ok := ask(fmt.Sprintf("path prefixes, space-separated, * for all [%s]: ", strings.Join(v.PathPrefixes, " ")))
	if !ok {
		return nil, false
	}
	methods, ok := ask(fmt.Sprintf("methods, space-separated, * for all [%s]: ", strings.Join(v.Methods, " ")))
	if !ok {
		return nil, false
	}
	r := &schemas.Route{Host: v.Host, Port: v.Port, PathAllowlist: v.PathPrefixes, Methods: v.Methods}
	switch paths {
	case "":
	case "*":
		r.PathAllowlist = nil
	default:
		r.PathAllowlist = strings.Fields(paths)
	}
	switch methods {
	case "":
	case "*":
		r.Methods = nil
	default:
		r.Methods = strings.Fields(strings.ToUpper(methods))
	}
	return r, true
}
