package docker

import (
	"strings"
	"testing"
)

// TestHomeOptions: the agent's home belongs to the image's USER, which
// must be numeric to be known without the image's /etc/passwd.
func TestHomeOptions(t *testing.T) {
	cases := []struct {
		user, opts, envUser, err string
	}{
		{"", "mode=0700", "root", ""},
		{"root", "mode=0700", "root", ""},
		{"0:0", "mode=0700", "root", ""},
		{"1000", "mode=0700,uid=1000", "", ""},
		{"1000:1000", "mode=0700,uid=1000,gid=1000", "", ""},
		{"node", "", "", `runs as user "node": give the image's USER as a number`},
		{"1000:staff", "", "", `runs as group "staff"`},
		{"1000,size=1g", "", "", "give the image's USER as a number"},
	}
	for _, c := range cases {
		opts, envUser, err := homeOptions("img", c.user)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.user, err, c.err)
			}
			continue
		}
		if err != nil || opts != c.opts || envUser != c.envUser {
			t.Errorf("%q: %q %q %v; want %q %q", c.user, opts, envUser, err, c.opts, c.envUser)
		}
	}
}
