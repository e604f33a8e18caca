// Package mcp is bot-bottle's MCP server, built on mark3labs/mcp-go. It is
// the edge where people and host agents meet the rest of the data path
// (manifest -> plan -> proxy decision -> event -> review -> reload), and it
// serves two surfaces that never share a tool:
//
//   - The operator surface (Operator): plan, launch, list, stop and read
//     bottles; list denials and proposals; decide proposals; read a
//     bottle's live routes. It is served over stdio (bot-bottle serve) or
//     streamable HTTP and SSE behind a bearer token (bot-bottle serve
//     --http), with resources for plans, routes and the review queue, and
//     notifications driven by following the shared event channel, so a
//     bottle launched by any process on the machine shows up.
//   - The agent surface (Control.AgentSurface): one handler that every
//     bottle this process owns serves on its own MCP socket. It knows its
//     bottle only from the socket a request arrived on and offers just
//     request_egress, proposal_status, list_egress_routes and recent_denials
//     for that bottle.
//
// Control is the glue both surfaces and both CLI entry points (serve and
// launch) share: the planner, the channel, the launcher, the review desk,
// and for every bottle this process launches, a review owner that is
// running before the bottle's command starts.
//
// Both surfaces speak the session-based MCP revisions 2025-11-25,
// 2025-06-18 and 2025-03-26 only (see ProtocolVersions).
package mcp
