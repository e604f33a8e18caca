// Package hostconfig writes bot-bottle into the MCP configuration of the
// agent CLIs a person runs on the host (Claude Code, Codex), so that their
// agent can plan, launch and review bottles through `bot-bottle serve`.
//
// It sits at the edge, used only by the CLI (bot-bottle mcp-config): it
// renders one server entry for a client and merges it into the client's
// own file. A merge touches that one entry and nothing else: other
// servers, unknown keys, key order and, for TOML, comments and layout
// stay byte for byte, because the entry is spliced into the text rather
// than the file re-encoded. A file that does not parse is refused with
// its position, and every merge is checked by decoding the result and
// comparing it with the original before anything is written.
//
// No token value is ever written: over HTTP the entry names the
// environment variable that holds the bearer token (BOT_BOTTLE_TOKEN).
package hostconfig
