package egressproxy

import (
	"bytes"
	"net/http"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Outbound DLP: every request a bottle sends through a decrypted route, to
// any host, is scanned for secrets the bottle was not given, gitleaks'
// credential rules and the host's secret-looking values (Config.HostSecrets),
// in its URL, its header values and its body (decoded, when it has a
// Content-Encoding). The route's policy decides what happens to a request
// with a finding: block refuses it with a 403 naming the rule; redact
// replaces each secret with "[redacted:<rule>]" and sends the rest; supervise
// holds it until the operator releases or refuses it (see supervise.go).
// A finding is only ever named by its rule, never shown.

// finding is one DLP finding in a request.
type finding struct {
	dlp.Finding
	where  string // url | header | body
	header string // the header's name, for where == header
	index  int    // which of the header's values
}

// redactable reports whether the finding's bytes can be rewritten where
// they were sent: in a header value or the body, found as sent (a secret
// found only after undoing escapes has no span in the data as sent).
func (f finding) redactable() bool { return f.where != "url" && !f.Decoded }

// scanDLP returns the DLP findings of a request: its target, header
// values, and the body's plain form. The header values are scanned as one
// text, a line each, so a value split across headers is seen too; a
// finding that spans two values cannot be redacted in either.
func (p *Proxy) scanDLP(req *http.Request, bd *body) []finding {
	var out []finding
	s := scratches.Get().(*dlp.Scratch)
	defer scratches.Put(s)
	for _, f := range p.dlp.Find([]byte(req.RequestURI), s) {
		out = append(out, finding{Finding: f, where: "url"})
	}
	type span struct {
		name       string
		i, lo, end int
	}
	var spans []span
	var text []byte
	for name, vs := range req.Header {
		for i, v := range vs {
			lo := len(text)
			text = append(append(text, v...), '\n')
			spans = append(spans, span{name, i, lo, lo + len(v)})
		}
	}
	for _, f := range p.dlp.Find(text, s) {
		hf := finding{Finding: f, where: "header", index: -1}
		for _, sp := range spans {
			if !f.Decoded && f.Start >= sp.lo && f.End <= sp.end {
				hf.header, hf.index = sp.name, sp.i
				hf.Start, hf.End = f.Start-sp.lo, f.End-sp.lo
			}
		}
		if hf.index < 0 {
			hf.Decoded = true // spans values, or found decoded: nothing to rewrite in place
		}
		out = append(out, hf)
	}
	if !p.hostSecrets.Empty() {
		parts := make([][]byte, len(spans))
		for k, sp := range spans {
			parts[k] = text[sp.lo:sp.end]
		}
		if p.hostSecrets.SplitAcross(parts) {
			out = append(out, finding{Finding: dlp.Finding{Rule: dlp.RuleKnownSecret, Decoded: true}, where: "header", index: -1})
		}
	}
	if len(bd.plain) > 0 {
		for _, f := range p.dlp.Find(bd.plain, s) {
			out = append(out, finding{Finding: f, where: "body"})
		}
	}
	return out
}

// rulesOf lists the findings' rules, each once, in order.
func rulesOf(fs []finding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

// redact rewrites every finding in the request: header values in place,
// the body as its plain form (its Content-Encoding dropped, since the
// rewritten body is sent decoded). It reports false, changing nothing,
// when a finding cannot be redacted where it was sent.
func redact(req *http.Request, bd *body, fs []finding) bool {
	for _, f := range fs {
		if !f.redactable() {
			return false
		}
	}
	var inBody []dlp.Finding
	perValue := map[[2]any][]dlp.Finding{}
	for _, f := range fs {
		if f.where == "body" {
			inBody = append(inBody, f.Finding)
		} else {
			k := [2]any{f.header, f.index}
			perValue[k] = append(perValue[k], f.Finding)
		}
	}
	for k, hf := range perValue {
		name, i := k[0].(string), k[1].(int)
		req.Header[name][i] = string(redactSpans([]byte(req.Header[name][i]), hf))
	}
	if len(inBody) > 0 {
		bd.plain = redactSpans(bd.plain, inBody)
		bd.data = bd.plain
		req.Header.Del("Content-Encoding")
		bd.codings = nil
		bd.replace(req, bd.data)
	}
	return true
}

// redactSpans returns b with each finding's span replaced by
// "[redacted:<rule>]"; overlapping spans merge into the first.
func redactSpans(b []byte, fs []dlp.Finding) []byte {
	fs = slices.Clone(fs)
	slices.SortFunc(fs, func(a, b dlp.Finding) int { return a.Start - b.Start })
	var out bytes.Buffer
	at := 0
	for _, f := range fs {
		if f.Start < at {
			continue
		}
		out.Write(b[at:f.Start])
		out.WriteString("[redacted:" + f.Rule + "]")
		at = f.End
	}
	out.Write(b[at:])
	return out.Bytes()
}

// excerptRadius is how much of the agent's text either side of a finding
// an operator sees when deciding on a held request.
const excerptRadius = 60

// excerpt is the text around the first finding that has a span as sent,
// every finding in it replaced by its rule, flattened to one printable
// line. It is "" when no finding has such a span, and never carries a
// token the proxy holds.
func (p *Proxy) excerpt(req *http.Request, bd *body, fs []finding) string {
	for _, f := range fs {
		if f.Decoded || (f.where == "header" && f.index < 0) {
			continue
		}
		var src []byte
		var same []dlp.Finding
		for _, g := range fs {
			if !g.Decoded && g.where == f.where && g.header == f.header && g.index == f.index {
				same = append(same, g.Finding)
			}
		}
		switch f.where {
		case "url":
			src = []byte(req.RequestURI)
		case "header":
			src = []byte(f.header + ": " + req.Header[f.header][f.index])
			for i := range same {
				same[i].Start += len(f.header) + 2
				same[i].End += len(f.header) + 2
			}
		default:
			src = bd.plain
		}
		lo, hi := max(0, f.Start-excerptRadius), min(len(src), f.End+excerptRadius)
		var in []dlp.Finding
		for _, g := range same {
			if g.End > lo && g.Start < hi {
				lo, hi = min(lo, g.Start), max(hi, g.End)
				in = append(in, dlp.Finding{Rule: g.Rule, Start: g.Start - lo, End: g.End - lo})
			}
		}
		text := flatten(string(redactSpans(src[lo:hi], in)))
		if p.scan.foundString(text) || p.hostSecrets.Contains([]byte(text), nil) {
			return ""
		}
		return text
	}
	return ""
}

// flatten makes agent-written text safe to show on one line: control,
// bidi and other format characters become spaces, runs of space collapse,
// invalid UTF-8 is replaced.
func flatten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x200b && r <= 0x200f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0xfeff {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// dlpAction is the route's DLP policy, for a route without one: block.
func (r *route) dlpAction() string {
	if r == nil || r.dlp == "" {
		return schemas.DLPBlock
	}
	return r.dlp
}

// applyDLP carries out the route's policy on a request with findings. It
// returns the refusal when the request must not leave; a redacted or
// released request goes on.
func (p *Proxy) applyDLP(req *http.Request, d Decision, r *route, bd *body, fs []finding) (Decision, bool) {
	d.Rule = strings.Join(rulesOf(fs), ",")
	switch r.dlpAction() {
	case schemas.DLPRedact:
		if redact(req, bd, fs) {
			p.metrics.redacted.Inc()
			p.log.Info("dlp: redacted secrets from a request", "host", d.Host, "method", d.Method, "rules", d.Rule)
			return d, false
		}
		// A secret found only after undoing escapes, or in the URL, has
		// nothing to rewrite: refuse rather than send it.
	case schemas.DLPSupervise:
		if reason := p.supervise(req, d, bd, fs); reason != ReasonAllowed {
			return deny(d, reason), true
		}
		return d, false
	}
	return deny(d, ReasonDLPMatch), true
}
