// Package terminal is the review desk in a terminal: `bot-bottle review`
// prints proposals with the evidence beside them, and `review -i` waits
// for proposals and asks what to do with each. The CLI only parses flags
// and wires a desk to it.
//
// Everything an agent wrote (a justification, a path, a host, the excerpt
// of a held request) reaches the terminal through schemas.AgentText: on a
// line labelled as the agent's, quoted, with no control, format or bidi
// character, so it can neither rewrite the screen nor pass for a line of
// ours.
package terminal
