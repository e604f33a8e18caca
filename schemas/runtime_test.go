package schemas

import (
	"strings"
	"testing"
)

// TestResolveRuntime: auto takes runsc where Docker has it, runc is always
// there, and a bottle that asks for runsc where Docker has none is refused
// with the way to register it, never run under runc.
func TestResolveRuntime(t *testing.T) {
	cases := []struct {
		requested  string
		registered []string
		want, err  string
	}{
		{"", []string{"runc", "runsc"}, "runsc", ""},
		{"auto", []string{"io.containerd.runc.v2", "runc", "runsc"}, "runsc", ""},
		{"auto", []string{"runc"}, "runc", ""},
		{"auto", nil, "runc", ""},
		{"runc", []string{"runc", "runsc"}, "runc", ""},
		{"runc", nil, "runc", ""},
		{"runsc", []string{"runc", "runsc"}, "runsc", ""},
		{"runsc", []string{"runc"}, "", "it has runc): install gVisor's runsc"},
		{"runsc", nil, "", "it has none"},
		{"runsc", []string{"runsc-debug"}, "", "/etc/docker/daemon.json"},
		{"gvisor", []string{"runsc"}, "", `unknown runtime "gvisor"`},
	}
	for _, c := range cases {
		got, err := ResolveRuntime(c.requested, c.registered)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || got != "" {
				t.Errorf("%q with %v: %q %v; want an error with %q", c.requested, c.registered, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q with %v: %q %v; want %q", c.requested, c.registered, got, err, c.want)
		}
	}
}
