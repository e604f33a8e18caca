package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The MCP transports' hygiene, the same on every surface: a browser page
// of another origin (DNS rebinding, a page the agent opened) is refused
// before anything is parsed, and a JSON-RPC batch, which MCP 2025-06-18
// removed, gets "batches not supported" rather than a parse error.

// loopbackName reports whether host (a Host header or a URL host, with or
// without a port) names this machine's loopback.
func loopbackName(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// originHost is the host of an Origin header, or "" when it has none (an
// opaque origin, "null", counts as foreign: it cannot match).
func originHost(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", false
	}
	return u.Host, true
}

// refuse answers a refused HTTP request with a JSON-RPC error body, so an
// MCP client shows why.
func refuse(w http.ResponseWriter, status int, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": code, "message": msg}})
}

// JSON-RPC error codes the guards answer with.
const (
	codeInvalidRequest = -32600
)

// agentGuard lets through only requests addressed to the bottle's own
// loopback: a Host of localhost, 127.0.0.1 or ::1 (any port), and no
// Origin or a loopback one. The agent surface is reached from inside the
// bottle at 127.0.0.1; a page a program in the bottle loaded from a
// rebound name carries that name, and is refused.
func agentGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackName(r.Host) {
			refuse(w, http.StatusForbidden, codeInvalidRequest,
				fmt.Sprintf("Host %q is not this bottle's loopback: the agent surface answers at http://127.0.0.1/mcp only", r.Host))
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if h, ok := originHost(o); !ok || !loopbackName(h) {
				refuse(w, http.StatusForbidden, codeInvalidRequest, fmt.Sprintf("Origin %q is not allowed here", o))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// operatorGuard refuses a request from a browser page of another origin
// (its Origin names another host than the request's) and, on a loopback
// connection, a Host that is not a loopback name (DNS rebinding); a server
// bound to another address is reached by its own name, which the bearer
// token guards.
func operatorGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil &&
			loopbackName(local.String()) && !loopbackName(r.Host) {
			refuse(w, http.StatusForbidden, codeInvalidRequest,
				fmt.Sprintf("Host %q is not a loopback name, on a loopback connection (DNS rebinding?)", r.Host))
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if h, ok := originHost(o); !ok || !strings.EqualFold(h, r.Host) {
				refuse(w, http.StatusForbidden, codeInvalidRequest,
					fmt.Sprintf("Origin %q is not this server's (%s): browser pages of other sites are refused", o, r.Host))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// noBatches answers a POST whose body is a JSON array (a JSON-RPC batch)
// with -32600, and passes every other request on with its body intact.
func noBatches(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			refuse(w, http.StatusRequestEntityTooLarge, codeInvalidRequest, "request body: "+err.Error())
			return
		}
		if isBatch(body) {
			refuse(w, http.StatusBadRequest, codeInvalidRequest, batchRefusal)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

const batchRefusal = "batches not supported: send one JSON-RPC message at a time (MCP 2025-06-18 and later have no batches)"

// isBatch reports whether a message is a JSON array.
func isBatch(msg []byte) bool {
	t := bytes.TrimLeft(msg, " \t\r\n")
	return len(t) > 0 && t[0] == '['
}
