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
	msg := fmt.Sprintf(format, v...)
	l.p.log.Debug("goproxy", "msg", l.p.scan.redact(redactQueries(msg)))
}

var queryRe = regexp.MustCompile(`\?[^\s"']*`)

// redactQueries replaces every query string in a message (a '?' up to the
// next white space or quote) by "?[redacted]".
func redactQueries(s string) string {
	return queryRe.ReplaceAllString(s, "?[redacted]")
}
