package egressproxy

import (
	"fmt"
	"regexp"
)

// goproxyLogger sends goproxy's own messages (which it prints for client
// and upstream errors, with URLs in them) to the proxy's logger at debug
// level, with query strings and tokens redacted.
type goproxyLogger struct{ p *Proxy }

func (l goproxyLogger) Printf(format string, v ...any) {
	l.p.log.Debug("goproxy", "msg", l.p.safeText(fmt.Sprintf(format, v...)))
}

// safeText makes a message from elsewhere (goproxy, net/http, an upstream
// error) fit for a log: query strings redacted, and withheld entirely if it
// still carries a token in any form the scanner knows.
func (p *Proxy) safeText(s string) string {
	s = redactQueries(s)
	if p.scan.foundString(s) {
		return "[message withheld: it carried a credential]"
	}
	return s
}

var queryRe = regexp.MustCompile(`\?[^\s"']*`)

// redactQueries replaces every query string in a message (a '?' up to the
// next white space or quote) by "?[redacted]".
func redactQueries(s string) string {
	return queryRe.ReplaceAllString(s, "?[redacted]")
}
