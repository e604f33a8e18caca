package egressproxy

import "net/http"

// Reason is why a request was allowed or refused: a code that tests assert
// on, that labels the decisions metric and that the agent reads in the 403
// body, with a message and a hint for the agent.
type Reason uint8

// Reasons. ReasonAllowed is the only one that admits a request.
const (
	ReasonAllowed          Reason = iota
	ReasonHostNotAllowed          // no route names the host
	ReasonIPLiteral               // the host is an IP address; routes name DNS hosts
	ReasonPortNotAllowed          // the host has routes, none for this port
	ReasonPathNotNormal           // the path is ambiguous: .., %2f, //, backslash, bad escapes
	ReasonPathNotAllowed          // the path is outside the route's path_allowlist
	ReasonMethodNotAllowed        // the method is not among the route's methods
	ReasonGitPush                 // git-receive-pack: pushes are never allowed
	ReasonTokenInURL              // the URL carries one of the proxy's tokens
	ReasonTokenInHeader           // a header carries one of the proxy's tokens
	ReasonTokenInBody             // the body carries one of the proxy's tokens
	ReasonHostMismatch            // the request names a host other than the one it was sent to
	ReasonBlockedAddress          // the host resolves to a loopback, private or metadata address
	ReasonBodyTooLarge            // the body exceeds the proxy's limit
	ReasonBadRequest              // the request cannot be checked (scheme, target form)
	ReasonUpstreamError           // not a refusal: the upstream could not be reached (502)
	// Issue #12 (leaks 1, 2, 3): appended, so the codes above keep their values.
	ReasonCleartextCredential // plain http to a route that injects a credential: HTTPS only
	ReasonSNIMismatch         // a passthrough tunnel's ClientHello names another server than the CONNECT
	ReasonSNIMissing          // a passthrough tunnel's ClientHello names no server
	ReasonECH                 // a passthrough tunnel's ClientHello hides its server name (ECH, ESNI)
	ReasonNotTLS              // a passthrough tunnel does not start with a readable TLS ClientHello
	ReasonWebSocketNotAllowed // a WebSocket upgrade on a route with auth that does not allow it
	ReasonUpgradeNotAllowed   // a protocol upgrade other than WebSocket (h2c, ...)
	ReasonTokenInFrame        // a WebSocket frame from the agent carries a token
	ReasonBodyNotDecodable    // the body's Content-Encoding is unknown, or the body is not valid in it
	ReasonDecodedTooLarge     // the body decodes to more than the proxy scans, or is encoded and too long to buffer
	ReasonDLPMatch            // the request carries a secret (a credential pattern or a host secret); route policy block
	ReasonDLPUnsupervised     // the route's policy is supervise, but no operator desk is attached
	ReasonDLPRefused          // the request was held and the operator refused it
	ReasonDLPHoldTimeout      // the request was held and no decision came in time
	numReasons
)

type reasonInfo struct {
	code    string
	status  int
	message string
	hint    string
}

const askHint = "if the task needs this, ask for access with the request_egress tool of the bottle's MCP server (BOT_BOTTLE_MCP_URL), naming the host, path and method and saying why"

var reasons = [numReasons]reasonInfo{
	ReasonAllowed:          {"allowed", http.StatusOK, "allowed", ""},
	ReasonHostNotAllowed:   {"host_not_allowed", http.StatusForbidden, "the bottle has no route to this host", askHint},
	ReasonIPLiteral:        {"ip_literal", http.StatusForbidden, "IP addresses are never routed; use the host's DNS name", "connect by the DNS name a route allows; " + askHint},
	ReasonPortNotAllowed:   {"port_not_allowed", http.StatusForbidden, "the host's routes do not allow this port", askHint},
	ReasonPathNotNormal:    {"path_not_normalized", http.StatusForbidden, "the path is ambiguous: it contains '.' or '..' segments, '//', a backslash, or an escape such as %2e or %2f that changes its meaning", "send the path in its plain normalised form; it is refused, not guessed at"},
	ReasonPathNotAllowed:   {"path_not_allowed", http.StatusForbidden, "the route for this host does not allow this path", askHint},
	ReasonMethodNotAllowed: {"method_not_allowed", http.StatusForbidden, "the route for this host does not allow this method", askHint},
	ReasonGitPush:          {"git_push", http.StatusForbidden, "git pushes are never allowed through the egress proxy", "hand the change to the operator (a patch or a branch in the workspace); pushing is not something a bottle can be granted"},
	ReasonTokenInURL:       {"token_in_url", http.StatusForbidden, "the URL carries a credential the proxy holds", "never send credentials yourself: the proxy injects them on the routes that need them"},
	ReasonTokenInHeader:    {"token_in_header", http.StatusForbidden, "a header carries a credential the proxy holds", "never send credentials yourself: the proxy injects them on the routes that need them"},
	ReasonTokenInBody:      {"token_in_body", http.StatusForbidden, "the body carries a credential the proxy holds", "never send credentials yourself: the proxy injects them on the routes that need them"},
	ReasonHostMismatch:     {"host_mismatch", http.StatusMisdirectedRequest, "the request names a different host than the one it was sent to", "send each request to the host it names (one CONNECT per host; Host must match the URL)"},
	ReasonBlockedAddress:   {"blocked_address", http.StatusForbidden, "the host resolves to a loopback, private, link-local or metadata address", "the proxy never connects to the machine's own or internal networks; " + askHint},
	ReasonBodyTooLarge:     {"body_too_large", http.StatusRequestEntityTooLarge, "the request body exceeds the proxy's limit", "send a smaller body"},
	ReasonBadRequest:       {"bad_request", http.StatusBadRequest, "the request cannot be checked: unsupported scheme or request target", "send an http or https request in origin or absolute form"},
	ReasonUpstreamError:    {"upstream_error", http.StatusBadGateway, "the upstream server could not be reached or did not answer", "retry later; if it persists, tell the operator"},

	ReasonCleartextCredential: {"cleartext_credential", http.StatusForbidden, "the route for this host injects a credential, and credentials are only ever sent over HTTPS; this request is plain http", "send the request as https:// (through a CONNECT tunnel): the proxy injects the route's credential only into TLS connections"},
	ReasonSNIMismatch:         {"sni_mismatch", http.StatusForbidden, "the TLS ClientHello in this tls_passthrough tunnel names another server (SNI) than the host of the CONNECT", "name the same host in CONNECT and in TLS: one tunnel per host; " + askHint},
	ReasonSNIMissing:          {"sni_missing", http.StatusForbidden, "the TLS ClientHello in this tls_passthrough tunnel names no server (SNI), so the proxy cannot check where it goes", "connect by the host's DNS name, so the TLS client sends it as the server name"},
	ReasonECH:                 {"encrypted_client_hello", http.StatusForbidden, "the TLS ClientHello in this tls_passthrough tunnel hides its server name with Encrypted Client Hello, which the proxy cannot check", "turn Encrypted Client Hello (and ECH GREASE) off in the client, or ask for a route that is not tls_passthrough"},
	ReasonNotTLS:              {"tls_expected", http.StatusForbidden, "a tls_passthrough tunnel must start with a TLS ClientHello that the proxy can read", "speak TLS to the CONNECT host through the tunnel, naming it as the server"},
	ReasonWebSocketNotAllowed: {"websocket_not_allowed", http.StatusForbidden, "the route for this host injects a credential and does not allow WebSocket upgrades", "ask the operator to set websocket: true on this host's route if the task needs a WebSocket"},
	ReasonUpgradeNotAllowed:   {"upgrade_not_allowed", http.StatusForbidden, "the proxy relays no protocol upgrade but WebSocket (an upgraded stream could not be checked)", "send the request without an Upgrade header (for HTTP/2, use https://, not h2c)"},
	ReasonTokenInFrame:        {"token_in_frame", http.StatusForbidden, "a WebSocket frame carries a credential the proxy holds; the connection was closed", "never send credentials yourself: the proxy injects them on the routes that need them"},
	ReasonBodyNotDecodable:    {"body_not_decodable", http.StatusForbidden, "the body's Content-Encoding is not one the proxy can decode and scan (gzip, deflate, br, zstd), or the body is not valid in it", "send the body uncompressed or in one of those encodings"},
	ReasonDecodedTooLarge:     {"decoded_body_too_large", http.StatusRequestEntityTooLarge, "the body is compressed and decodes to more than the proxy scans, or is compressed and longer than it buffers; it cannot be checked, so it is refused", "send the body uncompressed, or in smaller requests"},
	ReasonDLPMatch:            {"dlp_match", http.StatusForbidden, "the request carries a secret the bottle was not given", dlpHint},
	ReasonDLPUnsupervised:     {"dlp_unsupervised", http.StatusForbidden, "the request carries a secret; its route asks for an operator to review such requests, but none is attached to this proxy", dlpHint},
	ReasonDLPRefused:          {"dlp_refused", http.StatusForbidden, "the request carries a secret; it was held for the operator, who refused to release it", "do not send this secret; ask the operator (or the bottle's MCP server) if the task needs it"},
	ReasonDLPHoldTimeout:      {"dlp_hold_timeout", http.StatusForbidden, "the request carries a secret; it was held for the operator and no decision came before the hold timed out", "the operator may not be watching: send the request without the secret, or retry later"},
}

const dlpHint = "remove the secret from the request (the rule named in the error says which kind it is); never send credentials yourself: the proxy injects the ones a route needs"

// String returns the reason's code, e.g. "path_not_allowed".
func (r Reason) String() string {
	if r >= numReasons {
		return "unknown"
	}
	return reasons[r].code
}

// Label returns the value of the reason label of the decisions metric.
func (r Reason) Label() string { return r.String() }

// Status returns the HTTP status a request refused for this reason gets.
func (r Reason) Status() int {
	if r >= numReasons {
		return http.StatusForbidden
	}
	return reasons[r].status
}

// Message returns the one-line explanation that fills the body's error field.
func (r Reason) Message() string {
	if r >= numReasons {
		return "refused"
	}
	return reasons[r].message
}

// Hint tells the agent what it can do about the refusal.
func (r Reason) Hint() string {
	if r >= numReasons {
		return ""
	}
	return reasons[r].hint
}

// IsDenial reports whether the reason refuses the request by policy (as
// opposed to admitting it, or failing to reach the upstream).
func (r Reason) IsDenial() bool { return r != ReasonAllowed && r != ReasonUpstreamError }
