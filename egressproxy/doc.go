// Package egressproxy is a bottle's only way to the network: an HTTP proxy,
// built on github.com/elazarl/goproxy, that admits the hosts, ports, paths and
// methods of the bottle's routes table and refuses everything else.
//
// It sits on the data path after the planner: manifest → plan → routes file
// and token slots → proxy decision → denial event → review → reload. For each
// request the proxy makes one Decision; a refusal becomes a 403 (421 for a
// request that names another host inside a tunnel) whose JSON body, the
// X-Bot-Bottle-Denial header, the metric and the egress.denial event are all
// built from that one value.
//
// HTTPS is decrypted (MITM) with a leaf certificate minted for the CONNECT
// host by the bottle's own CA, so paths and methods can be checked and the
// route's credential injected; a route's credential is injected only into
// TLS requests (plain http to it is refused). tls_passthrough routes are
// tunnelled unopened, once the ClientHello read before dialling names the
// CONNECT host as its server (no other name, none, or Encrypted Client
// Hello: refused; passthrough.go). A CONNECT to a host no route admits is
// decrypted too, but only to answer its request with the structured 403
// (clients never show the body of a refused CONNECT) and close; nothing in
// such a tunnel is forwarded.
// The proxy strips the agent's Authorization headers, refuses git pushes and
// refuses any request that carries one of its own token values (raw, hex in
// any case, base64, escaped, split across headers) in its URL, headers or
// body, the body decoded first when it has a Content-Encoding (bounded: what
// decodes past Limits.MaxDecodedBytes is refused), so the agent can neither
// use nor exfiltrate a credential it was never given; responses to
// authenticated requests are masked where they echo it, also behind JSON,
// HTML and percent escapes (reflect.go). Outbound DLP (dlpcheck.go) applies
// the detectors of package dlp, gitleaks' rules and Config.HostSecrets, to
// every request, and the route's policy blocks, redacts or holds it for an
// operator (supervise.go). After "101 Switching Protocols" only WebSocket is
// relayed, and only through a frame relay that scans the agent's frames and
// masks the upstream's (upgrade.go, websocket.go); on a route with a
// credential only when the route says websocket: true. After name resolution it
// refuses to dial loopback, private, link-local and metadata addresses, so a
// DNS name that rebinds to the host cannot reach the host's services.
//
// A Proxy runs in-process (one per bottle, each on its own listener) or as
// the standalone sidecar `bot-bottle egress`. Its routes table reloads
// atomically; connections in flight keep the table they started with only for
// the request they are serving. The package never reads the process
// environment: tokens, the upstream proxy and trust roots come in Config.
package egressproxy
