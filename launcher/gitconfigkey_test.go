package launcher

import "testing"

// TestGitIncludeTarget: include paths name the file git's
// handle_path_include opens, unexpanded forms give up.
func TestGitIncludeTarget(t *testing.T) {
	cases := []struct {
		value, want string
		ok          bool
	}{
		{"~", "/h", true},
		{"~/team.inc", "/h/team.inc", true},
		{"/etc/team.inc", "/etc/team.inc", true},
		{"team.inc", "/cfg/team.inc", true},
		{"link/../x.inc", "/cfg/link/../x.inc", true}, // the kernel resolves it, not a lexical clean
		{"~op/x.inc", "", false},
		{"%(prefix)/etc/x.inc", "", false},
	}
	for _, c := range cases {
		got, ok := gitIncludeTarget(c.value, "/h", true, "/cfg/.gitconfig")
		if got != c.want || ok != c.ok {
			t.Errorf("gitIncludeTarget(%q) = %q, %v; want %q, %v", c.value, got, ok, c.want, c.ok)
		}
	}
	if _, ok := gitIncludeTarget("~/x", "", false, "/cfg/.gitconfig"); ok {
		t.Errorf("~/x without HOME is named (git refuses it)")
	}
}

// TestGitEnvKey: a relative path in git's environment would be resolved
// against the workdir, so no key (no caching); unset and empty differ.
func TestGitEnvKey(t *testing.T) {
	for _, env := range []map[string]string{
		{"HOME": "home"}, {"HOME": ""}, {"HOME": "/h", "XDG_CONFIG_HOME": "cfg"},
		{"HOME": "/h", "GIT_CONFIG_GLOBAL": "g.cfg"}, {"HOME": "/h", "GIT_CONFIG_SYSTEM": "./s"},
	} {
		if _, ok := gitEnvKey(env); ok {
			t.Errorf("gitEnvKey(%v) gives a key", env)
		}
	}
	unset, ok1 := gitEnvKey(map[string]string{"HOME": "/h"})
	empty, ok2 := gitEnvKey(map[string]string{"HOME": "/h", "GIT_CONFIG_GLOBAL": ""})
	nosys, ok3 := gitEnvKey(map[string]string{"HOME": "/h", "GIT_CONFIG_NOSYSTEM": "1"})
	if !ok1 || !ok2 || !ok3 || unset == empty || unset == nosys {
		t.Errorf("keys %q %q %q (%v %v %v)", unset, empty, nosys, ok1, ok2, ok3)
	}
}
