package schemas

import (
	"net/netip"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

// NormalizeHost lower-cases a host name and drops one trailing dot, the two
// spellings under which the same DNS name may arrive. It does not validate.
func NormalizeHost(h string) string {
	h = strings.ToLower(h)
	return strings.TrimSuffix(h, ".")
}

// CheckHostName reports why h is not usable as a route host, or "" when it
// is. A route host is a DNS name: no scheme, port, path, wildcard or IP
// literal, labels of letters, digits and hyphens, and a last label that is not
// all digits (so "127.1" and "0x7f.1" are refused as IP-like). It is
// case-insensitive and may end in one dot.
func CheckHostName(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case strings.Contains(h, "://"):
		return "must be a host name, not a URL (drop the scheme)"
	case strings.ContainsAny(h, "/?#"):
		return "must be a host name without a path (use path_allowlist for paths)"
	case strings.Contains(h, "*"):
		return "wildcards are not supported: name each host"
	case strings.Contains(h, "@"):
		return "must be a host name without user info"
	case isIPLiteral(h):
		return "IP literals are not allowed: name the host by its DNS name"
	case strings.Contains(h, ":"):
		return "must be a host name without a port (use the route's port key)"
	case strings.ContainsAny(h, " \t\r\n"):
		return "must not contain white space"
	}
	name := strings.TrimSuffix(h, ".")
	if len(name) > 253 {
		return "is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return "has an empty label (two dots in a row, or a leading dot)"
		}
		if len(l) > 63 {
			return "has a label longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "has a label that starts or ends with a hyphen"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "may contain only letters, digits, hyphens and dots"
			}
		}
	}
	if looksNumeric(labels[len(labels)-1]) {
		return "looks like an IP address (its last label is numeric): name the host by its DNS name"
	}
	return ""
}

// IsIPLiteral reports whether h (with or without brackets or a port) is an
// IPv4 or IPv6 literal.
func IsIPLiteral(h string) bool { return isIPLiteral(h) }

func isIPLiteral(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		}
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil && ap.IsValid() {
		return true
	}
	// Zone-less IPv6 with a port in brackets is handled above; a bare host
	// whose last label is numeric (inet_aton forms such as 127.1 or
	// 0x7f000001) is IP-like too.
	labels := strings.Split(h, ".")
	return len(h) > 0 && looksNumeric(labels[len(labels)-1])
}

// looksNumeric reports whether a label is a decimal, octal or hex number, as
// inet_aton would read it.
func looksNumeric(l string) bool {
	if l == "" {
		return false
	}
	s := strings.ToLower(l)
	if strings.HasPrefix(s, "0x") {
		s = s[2:]
		if s == "" {
			return true
		}
		for i := 0; i < len(s); i++ {
			if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsSensitiveHostName reports whether a (valid) host name points at the
// machine itself or at a cloud metadata service: names a bottle must never be
// granted through remediation and that a manifest author should think twice
// about.
func IsSensitiveHostName(h string) bool {
	h = NormalizeHost(h)
	switch {
	case h == "localhost", strings.HasSuffix(h, ".localhost"):
		return true
	case h == "metadata", h == "metadata.google.internal", strings.HasSuffix(h, ".metadata.google.internal"):
		return true
	case h == "instance-data", strings.HasPrefix(h, "instance-data."):
		return true
	case h == "metadata.azure.com", h == "metadata.packet.net":
		return true
	}
	return false
}
