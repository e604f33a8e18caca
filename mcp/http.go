package mcp

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// HTTP paths of the operator surface.
const (
	StreamablePath = "/mcp"
	SSEPath        = "/sse"
	MessagePath    = "/message"
)

// HTTP session upkeep: heartbeats keep idle GET streams alive through
// proxies and mark them active; sessions idle for longer are swept, with
// what the event store kept for them.
const (
	heartbeatInterval = 30 * time.Second
	sessionIdleTTL    = 30 * time.Minute
	// maxOperatorBody bounds a request body (mcp-go reads whole bodies and
	// sets no bound); an inline manifest is at most 256 KiB.
	maxOperatorBody = 4 << 20
)

// HTTP is the operator surface over HTTP: streamable HTTP at /mcp, SSE at
// /sse with messages posted to /message, all behind a bearer token, and
// any routes the caller mounts with Handle (behind the same token) or
// HandlePublic (which check access themselves).
type HTTP struct {
	token      []byte
	mux        *http.ServeMux
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
}

// HTTPHandler builds the operator's HTTP surface guarded by token. The
// token must be long and random (see LoadToken); requests without it get
// 401.
func (o *Operator) HTTPHandler(token string) (*HTTP, error) {
	if len(token) < 16 {
		return nil, errors.New("http surface: the bearer token is shorter than 16 characters")
	}
	h := &HTTP{token: []byte(token), mux: http.NewServeMux()}
	h.streamable = server.NewStreamableHTTPServer(o.srv,
		server.WithStateful(true),
		server.WithStreamableHTTPProtocolVersions(ProtocolVersions...),
		// A notification taken off a session's queue while a POST is
		// ending can be lost without an event store (mcp-go #969).
		server.WithEventStore(newBoundedEventStore(defaultStoreEvents, defaultStoreBytes)),
		server.WithHeartbeatInterval(heartbeatInterval),
		server.WithSessionIdleTTL(sessionIdleTTL),
		server.WithStreamableHTTPLogger(o.ctl.log),
	)
	h.sse = server.NewSSEServer(o.srv,
		server.WithSSEEndpoint(SSEPath),
		server.WithMessageEndpoint(MessagePath),
		server.WithKeepAliveInterval(heartbeatInterval),
	)
	h.mux.Handle(StreamablePath, noBatches(h.streamable))
	h.mux.Handle(SSEPath, h.sse.SSEHandler())
	h.mux.Handle(MessagePath, noBatches(h.sse.MessageHandler()))
	return h, nil
}

// Handle mounts handler at pattern (http.ServeMux syntax) behind the
// bearer token.
func (h *HTTP) Handle(pattern string, handler http.Handler) { h.mux.Handle(pattern, handler) }

// HandlePublic mounts handler at pattern without the token check: the
// handler decides access itself (a login page that checks the token with
// CheckToken and sets a cookie, say).
func (h *HTTP) HandlePublic(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, publicRoute{handler})
}

// publicRoute marks a handler that does its own access checks.
type publicRoute struct{ http.Handler }

// CheckToken reports whether s is the bearer token, in constant time.
func (h *HTTP) CheckToken(s string) bool {
	return len(s) == len(h.token) && subtle.ConstantTimeCompare([]byte(s), h.token) == 1
}

// Authorized reports whether r carries the bearer token in its
// Authorization header.
func (h *HTTP) Authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && h.CheckToken(strings.TrimSpace(tok))
}

// ServeHTTP checks the request's origin and the token, then routes. A
// JSON-RPC batch posted to an MCP endpoint is refused.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	operatorGuard(http.HandlerFunc(h.serve)).ServeHTTP(w, r)
}

func (h *HTTP) serve(w http.ResponseWriter, r *http.Request) {
	if handler, _ := h.mux.Handler(r); handler != nil {
		if _, public := handler.(publicRoute); public {
			handler.ServeHTTP(w, r)
			return
		}
	}
	if !h.Authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bot-bottle"`)
		http.Error(w, "401 unauthorized: send Authorization: Bearer <token> (the token is in $BOT_BOTTLE_HOME/serve.token unless serve was given another)", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxOperatorBody)
	h.mux.ServeHTTP(w, r)
}

// Shutdown closes the MCP sessions (streams end, so an http.Server's own
// Shutdown does not wait for them forever).
func (h *HTTP) Shutdown(ctx context.Context) error {
	h.sse.CloseSessions()
	return h.streamable.Shutdown(ctx)
}
