package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

const agentInstructions = `You run in a bot-bottle: your only network path is an egress proxy that allows the hosts and paths
your operator chose. A request it refuses gets a 403 whose JSON body has a denial_id, the reason and a hint.
To ask for more access, call request_egress with the host (and the path prefixes and methods you need), a
justification a person will read, and the denial_id. It waits for the decision for a while; if it answers
pending, call proposal_status with the proposal id to wait again. Once approved, retry the request.
list_egress_routes shows what you may reach now; recent_denials shows what was refused.`

// Agent-surface bounds.
const (
	defaultAgentDenials = 20
	maxAgentDenials     = 100
	// maxAgentBody bounds an agent's request body: the largest honest one
	// (request_egress with every field full) is a few KiB.
	maxAgentBody = 256 << 10
)

type requestEgressArgs struct {
	Host          string   `json:"host"`
	Port          int      `json:"port"`
	PathPrefixes  []string `json:"path_prefixes"`
	Methods       []string `json:"methods"`
	Justification string   `json:"justification"`
	DenialID      string   `json:"denial_id"`
}

type proposalStatusArgs struct {
	ID          string `json:"id"`
	WaitSeconds *int   `json:"wait_seconds"`
}

type recentDenialsArgs struct {
	Limit int `json:"limit"`
}

type noArgs struct{}

// AgentRoutes is list_egress_routes's result.
type AgentRoutes struct {
	Routes *schemas.RoutesFile `json:"routes"`
}

// AgentDenials is recent_denials's result, newest first.
type AgentDenials struct {
	Denials []schemas.Denial `json:"denials"`
}

// agentSurface serves the agent tools of every bottle this process owns.
// It is stateless (no session outlives a request, so nothing of one bottle
// is kept where another could reach it), and every tool reads its bottle
// from the socket the request arrived on.
type agentSurface struct {
	ctl *Control
	srv *server.MCPServer
}

func newAgentSurface(c *Control) http.Handler {
	a := &agentSurface{ctl: c}
	a.srv = server.NewMCPServer(ServerName+"-agent", c.version(),
		server.WithInstructions(agentInstructions),
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithStrictInputSchemaDefault(),
		server.WithOutputSchemaValidation(),
		server.WithHooks(pinnedHooks()),
	)
	a.addTools()
	h := server.NewStreamableHTTPServer(a.srv,
		server.WithStateLess(true),
		server.WithDisableStreaming(true),
		server.WithStreamableHTTPProtocolVersions(ProtocolVersions...),
		server.WithStreamableHTTPLogger(c.log),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", noBatches(h))
	return agentGuard(&inflightLimit{max: c.cfg.AgentInflight, n: map[string]int{}, next: mux})
}

// inflightLimit bounds the requests each bottle has in flight on the
// agent surface, so that one agent cannot pile up waiting calls in the
// process that owns every bottle it launched. Past the bound it answers
// 429 with a JSON body, as the proxy's denials are JSON.
type inflightLimit struct {
	max  int
	next http.Handler

	mu sync.Mutex
	n  map[string]int // bottle id -> requests in flight
}

func (l *inflightLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := launcher.BottleID(r.Context())
	l.mu.Lock()
	if l.n[id] >= l.max {
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprintf(w, `{"error":"this bottle has %d agent-surface requests in flight, the most it may have; wait for one to return (proposal_status waits for a decision)"}`+"\n", l.max)
		return
	}
	l.n[id]++
	l.mu.Unlock()
	r.Body = http.MaxBytesReader(w, r.Body, maxAgentBody)
	defer func() {
		l.mu.Lock()
		if l.n[id]--; l.n[id] == 0 {
			delete(l.n, id)
		}
		l.mu.Unlock()
	}()
	l.next.ServeHTTP(w, r)
}

func (a *agentSurface) addTools() {
	addTool(a.srv, mcpgo.NewTool("request_egress",
		mcpgo.WithToolTitle("Ask for egress"),
		mcpgo.WithDescription("Ask your operator for egress your proxy refused. A person sees the host, paths and methods, your justification "+
			"and the denial, and approves, narrows or denies. The call waits for the decision for a while; status pending means call "+
			"proposal_status with proposal_id to wait again. approved: retry your request. Credentials are never granted this way."),
		mcpgo.WithString("host", mcpgo.Required(), mcpgo.Description("the DNS name you need, e.g. pypi.org (no scheme, port or path)"), mcpgo.MaxLength(253)),
		mcpgo.WithInteger("port", mcpgo.Description("only if not 443/80"), mcpgo.Min(1), mcpgo.Max(65535)),
		mcpgo.WithArray("path_prefixes", mcpgo.Description("path prefixes you need, e.g. /simple/; omit for the whole host"), mcpgo.WithStringItems(mcpgo.MaxLength(1024)), mcpgo.MaxItems(32)),
		mcpgo.WithArray("methods", mcpgo.Description("HTTP methods you need; omit for all"), mcpgo.WithStringEnumItems(schemas.Methods), mcpgo.MaxItems(len(schemas.Methods))),
		mcpgo.WithString("justification", mcpgo.Required(), mcpgo.Description("what you need it for, for the person who decides"), mcpgo.MaxLength(schemas.AgentTextMax)),
		mcpgo.WithString("denial_id", mcpgo.Description("the denial_id from the 403 you got"), mcpgo.MaxLength(100)),
		mcpgo.WithOutputSchema[review.Result](),
		acting(false, false),
	), a.requestEgress, agentHint)

	addTool(a.srv, mcpgo.NewTool("proposal_status",
		mcpgo.WithToolTitle("Wait for a decision"),
		mcpgo.WithDescription("The state of one of your proposals, waiting up to wait_seconds for a decision while it is pending."),
		mcpgo.WithString("id", mcpgo.Required(), mcpgo.Description("proposal_id from request_egress"), mcpgo.MaxLength(64)),
		mcpgo.WithInteger("wait_seconds", mcpgo.Description("how long to wait for a decision"), mcpgo.DefaultNumber(int(a.ctl.cfg.AgentWait/time.Second)),
			mcpgo.Min(0), mcpgo.Max(int(a.maxWait()/time.Second))),
		mcpgo.WithOutputSchema[review.Result](),
		readOnly(),
	), a.proposalStatus, agentHint)

	addTool(a.srv, mcpgo.NewTool("list_egress_routes",
		mcpgo.WithToolTitle("Routes you may reach"),
		mcpgo.WithDescription("The routes your proxy allows now: hosts, path prefixes, methods, and whether the proxy adds a credential (you never see it)."),
		mcpgo.WithOutputSchema[AgentRoutes](),
		readOnly(),
	), a.listRoutes, agentHint)

	addTool(a.srv, mcpgo.NewTool("recent_denials",
		mcpgo.WithToolTitle("Your recent denials"),
		mcpgo.WithDescription("Your most recent denials, newest first: what was refused and why, with the denial_id to cite in request_egress."),
		mcpgo.WithInteger("limit", mcpgo.Description("how many"), mcpgo.DefaultNumber(defaultAgentDenials), mcpgo.Min(1), mcpgo.Max(maxAgentDenials)),
		mcpgo.WithOutputSchema[AgentDenials](),
		readOnly(),
	), a.recentDenials, agentHint)
}

// owner is the review owner of the bottle whose socket the request came
// in on.
func (a *agentSurface) owner(ctx context.Context) (string, *review.Owner, error) {
	id, ok := launcher.BottleID(ctx)
	if !ok || id == "" {
		return "", nil, errors.New("this surface answers only on a bottle's own MCP socket")
	}
	o, ok := a.ctl.Owner(id)
	if !ok {
		return id, nil, fmt.Errorf("bottle %s has no review owner running (it is stopping, or its owner is shutting down)", id)
	}
	return id, o, nil
}

func (a *agentSurface) requestEgress(ctx context.Context, args requestEgressArgs) (review.Result, string, error) {
	_, o, err := a.owner(ctx)
	if err != nil {
		return review.Result{}, "", err
	}
	req := planner.RouteRequest{Host: args.Host, Port: args.Port, PathPrefixes: args.PathPrefixes, Methods: args.Methods}
	var denials []string
	if id := strings.TrimSpace(args.DenialID); id != "" {
		denials = []string{id}
	}
	res, err := o.Request(ctx, req, args.Justification, denials, 0)
	wait := a.wait(ctx, a.ctl.cfg.AgentWait)
	if err == nil && res.Status == schemas.ProposalPending {
		res, err = a.await(ctx, o, res.ProposalID, wait)
	}
	if err != nil {
		return review.Result{}, "", err
	}
	return res, resultText(res, wait), nil
}

// maxWait bounds proposal_status's wait_seconds: MaxAgentWait, or the
// owner's own wait where serve --agent-wait is longer (its default must be
// a value the schema accepts).
func (a *agentSurface) maxWait() time.Duration { return max(MaxAgentWait, a.ctl.cfg.AgentWait) }

func (a *agentSurface) proposalStatus(ctx context.Context, args proposalStatusArgs) (review.Result, string, error) {
	_, o, err := a.owner(ctx)
	if err != nil {
		return review.Result{}, "", err
	}
	wait := a.ctl.cfg.AgentWait
	if args.WaitSeconds != nil {
		wait = min(time.Duration(*args.WaitSeconds)*time.Second, a.maxWait())
	}
	wait = a.wait(ctx, wait)
	res, err := a.await(ctx, o, args.ID, wait)
	if err != nil {
		return review.Result{}, "", err
	}
	return res, resultText(res, wait), nil
}

func (a *agentSurface) listRoutes(ctx context.Context, _ noArgs) (AgentRoutes, string, error) {
	id, _, err := a.owner(ctx)
	if err != nil {
		return AgentRoutes{}, "", err
	}
	b, ok := a.ctl.cfg.Launcher.Get(id)
	if !ok {
		return AgentRoutes{}, "", fmt.Errorf("bottle %s is stopping", id)
	}
	rf := b.Proxy().Routes()
	var text strings.Builder
	fmt.Fprintf(&text, "%s you may reach:\n", plural(len(rf.Routes), "route", "routes"))
	for _, r := range rf.Routes {
		text.WriteString("  " + routeLine(r) + "\n")
	}
	return AgentRoutes{Routes: rf}, text.String(), nil
}

func (a *agentSurface) recentDenials(ctx context.Context, args recentDenialsArgs) (AgentDenials, string, error) {
	id, _, err := a.owner(ctx)
	if err != nil {
		return AgentDenials{}, "", err
	}
	limit := args.Limit
	if limit <= 0 {
		limit = defaultAgentDenials
	}
	page, err := queryDenials(ctx, a.ctl.cfg.Channel.Store(), denialQuery{Bottle: id, Limit: min(limit, maxAgentDenials)})
	if err != nil {
		return AgentDenials{}, "", err
	}
	if len(page.Denials) == 0 {
		return AgentDenials{Denials: page.Denials}, "no denials", nil
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%s, newest first:\n", plural(len(page.Denials), "denial", "denials"))
	for _, d := range page.Denials {
		fmt.Fprintf(&text, "  %s\n    hint: %s\n", denialSummary(d), d.Hint)
	}
	return AgentDenials{Denials: page.Denials}, text.String(), nil
}

// wait bounds want by what the calling bottle's agent CLI waits for a tool
// call (planner.ToolCallWait): an answer after the CLI gave up on the call
// would reach nobody.
func (a *agentSurface) wait(ctx context.Context, want time.Duration) time.Duration {
	id, _ := launcher.BottleID(ctx)
	if b, ok := a.ctl.cfg.Launcher.Get(id); ok {
		if p := b.Plan(); p != nil && p.Provider != nil {
			if limit := planner.ToolCallWait(p.Provider.Template); limit > 0 {
				return min(want, limit)
			}
		}
	}
	return want
}

// progressEvery is how often a waiting call tells a client that asked for
// progress that it still waits: clients that reset their timeout on
// progress then wait as long as the server does.
const progressEvery = 10 * time.Second

// await waits up to wait for a decision on proposal id. When the call
// carried a progress token it sends a progress notification at once and
// then every progressEvery; the first one also makes mcp-go answer over an
// SSE stream, so clients that send one request at a time until the
// response headers arrive (the official Go SDK's) can call other tools
// while this one waits.
func (a *agentSurface) await(ctx context.Context, o *review.Owner, id string, wait time.Duration) (review.Result, error) {
	tok := progressToken(ctx)
	srv := server.ServerFromContext(ctx)
	deadline := time.Now().Add(wait)
	for n := 1; ; n++ {
		step := max(time.Until(deadline), 0)
		if tok != nil && srv != nil {
			step = min(step, progressEvery)
			_ = srv.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationProgress), map[string]any{
				"progressToken": tok, "progress": n,
				"message": "waiting for a person to decide on proposal " + id,
			})
		}
		res, err := o.Status(ctx, id, step)
		if err != nil || res.Status != schemas.ProposalPending || !time.Now().Before(deadline) {
			return res, err
		}
	}
}

// resultText tells the agent what a Result means for what it does next;
// waited is how long this call waited, which a pending answer repeats so
// the agent knows a person may simply not have looked yet.
func resultText(r review.Result, waited time.Duration) string {
	var s string
	switch r.Status {
	case schemas.ProposalApproved:
		s = "approved: retry your request"
	case schemas.ProposalPending:
		s = fmt.Sprintf("pending: proposal %s still waits for a person after %s; to keep waiting, call proposal_status with id %q "+
			"(each call waits up to %s), as often as you need", r.ProposalID, waited.Round(time.Second), r.ProposalID, waited.Round(time.Second))
	case schemas.ProposalDenied:
		s = "denied: do not ask again for the same access; find another way or tell your user"
	case schemas.ProposalRefused:
		s = "refused: the decision could not be applied"
	case schemas.ProposalExpired:
		s = "expired: this bottle ended before anyone decided; ask again from the new bottle if you still need the access"
	case review.StatusAlreadyAllowed:
		s = "already allowed"
	default:
		s = r.Status
	}
	if r.Delta != "" {
		s += "\nchange: " + r.Delta
	}
	if r.Notes != "" {
		s += "\nnotes: " + r.Notes
	}
	return s
}
