package docker

import "testing"

// TestHostUDSOpen reads runsc's --host-uds however Docker's runtimeArgs
// spell it: only open and all let a bottle reach its proxy's socket.
func TestHostUDSOpen(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--platform=ptrace"}, false},
		{[]string{"--host-uds=open"}, true},
		{[]string{"-host-uds=all", "--network=none"}, true},
		{[]string{"--host-uds", "open"}, true},
		{[]string{"--host-uds=create"}, false},
		{[]string{"--host-uds=none"}, false},
		{[]string{"--host-uds=open", "--host-uds=none"}, false},
		{[]string{"--fsgofer-host-uds-open"}, false},
		{[]string{"host-uds=open"}, false},
	}
	for _, c := range cases {
		if got := hostUDSOpen(c.args); got != c.want {
			t.Errorf("%q: %v, want %v", c.args, got, c.want)
		}
	}
}
