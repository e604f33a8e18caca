package schemas

import "testing"

func TestCheckHostName(t *testing.T) {
	ok := []string{"api.github.com", "API.GitHub.com", "api.github.com.", "localhost", "a-b.example", "xn--bcher-kva.example", "0day.example.com"}
	for _, h := range ok {
		if why := CheckHostName(h); why != "" {
			t.Errorf("CheckHostName(%q) = %q, want ok", h, why)
		}
	}
	bad := map[string]string{
		"":                       "must not be empty",
		"https://api.github.com": "must be a host name, not a URL (drop the scheme)",
		"api.github.com/x":       "must be a host name without a path (use path_allowlist for paths)",
		"api.github.com:443":     "must be a host name without a port (use the route's port key)",
		"*.github.com":           "wildcards are not supported: name each host",
		"user@github.com":        "must be a host name without user info",
		"10.0.0.1":               "IP literals are not allowed: name the host by its DNS name",
		"127.1":                  "IP literals are not allowed: name the host by its DNS name",
		"2130706433":             "IP literals are not allowed: name the host by its DNS name",
		"0x7f000001":             "IP literals are not allowed: name the host by its DNS name",
		"0177.0.0.1":             "IP literals are not allowed: name the host by its DNS name",
		"::1":                    "IP literals are not allowed: name the host by its DNS name",
		"[::1]":                  "IP literals are not allowed: name the host by its DNS name",
		"[fe80::1%25eth0]":       "IP literals are not allowed: name the host by its DNS name",
		"1.2.3.4:80":             "IP literals are not allowed: name the host by its DNS name",
		"a..b":                   "has an empty label (two dots in a row, or a leading dot)",
		".a.b":                   "has an empty label (two dots in a row, or a leading dot)",
		"-a.b":                   "has a label that starts or ends with a hyphen",
		"a_b.example":            "may contain only letters, digits, hyphens and dots",
		"a b.example":            "must not contain white space",
		"example.123":            "IP literals are not allowed: name the host by its DNS name",
		"bücher.example":         "may contain only letters, digits, hyphens and dots",
	}
	for h, want := range bad {
		if got := CheckHostName(h); got != want {
			t.Errorf("CheckHostName(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{"API.GitHub.COM.": "api.github.com", "a.b": "a.b", "A.": "a"} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsSensitiveHostName(t *testing.T) {
	for _, h := range []string{"localhost", "LOCALHOST.", "a.localhost", "metadata.google.internal", "metadata", "instance-data.ec2.internal"} {
		if !IsSensitiveHostName(h) {
			t.Errorf("%q should be sensitive", h)
		}
	}
	for _, h := range []string{"api.github.com", "localhost.example.com", "metadata.example.com"} {
		if IsSensitiveHostName(h) {
			t.Errorf("%q should not be sensitive", h)
		}
	}
}

func TestCheckPathPrefix(t *testing.T) {
	for _, p := range []string{"/", "/repos/myorg/", "/repos/myorg", "/a.b/c-d_e~f"} {
		if why := CheckPathPrefix(p); why != "" {
			t.Errorf("CheckPathPrefix(%q) = %q", p, why)
		}
	}
	for _, p := range []string{"", "repos", "/a/./b", "/a/..", "/%2e%2e/", "//a", "/a\\b", "/a?b", "/a#b", "/a\tb", "/a\x00"} {
		if CheckPathPrefix(p) == "" {
			t.Errorf("CheckPathPrefix(%q) accepted", p)
		}
	}
}

func TestSlotNames(t *testing.T) {
	if SlotName(3) != "EGRESS_TOKEN_3" {
		t.Fatal(SlotName(3))
	}
	for s, want := range map[string]bool{"EGRESS_TOKEN_0": true, "EGRESS_TOKEN_12": true, "EGRESS_TOKEN_": false,
		"EGRESS_TOKEN_01": false, "EGRESS_TOKEN_x": false, "GITHUB_TOKEN": false} {
		if IsSlotName(s) != want {
			t.Errorf("IsSlotName(%q) = %v", s, !want)
		}
	}
}

func TestEnvRules(t *testing.T) {
	for _, n := range []string{"HTTPS_PROXY", "https_proxy", "BOT_BOTTLE_X", "EGRESS_TOKEN_1", "SSL_CERT_FILE", "CLAUDE_CODE_OAUTH_TOKEN"} {
		if !ReservedEnv(n) {
			t.Errorf("%s should be reserved", n)
		}
	}
	if ReservedEnv("GIT_AUTHOR_NAME") {
		t.Error("GIT_AUTHOR_NAME reserved")
	}
	if !IsHostRef("GITHUB_TOKEN") || IsHostRef("github_token") || IsHostRef("ghp_abc") || IsHostRef("sk-ant-x") {
		t.Error("IsHostRef")
	}
}
