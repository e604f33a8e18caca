// Package web is the operator's review page: a server-rendered list of the
// agents' proposals and recent denials that updates live (server-sent
// events) and decides a proposal with one click. It is plain HTML with a
// little vanilla JavaScript and no build step, mounted by `bot-bottle serve
// --http` at /review behind the same token as the MCP endpoint.
//
// Agent-written text (justifications, hosts, paths) is untrusted: it is
// escaped by html/template, and a Content-Security-Policy allows only the
// page's own script, so a proposal cannot run code in the operator's
// browser. Decisions are POSTs accepted only from the page's own origin.
package web
