package docker

import (
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestResourcesToEngine(t *testing.T) {
	r := resources(schemas.PlannedResources{MemoryBytes: 64 << 20, CPUs: 1.5, Pids: 64})
	if r.Memory != 64<<20 || r.MemorySwap != r.Memory || r.NanoCPUs != 1_500_000_000 || r.PidsLimit == nil || *r.PidsLimit != 64 {
		t.Fatalf("%+v", r)
	}
	if r := resources(schemas.PlannedResources{}); r.Memory != 0 || r.MemorySwap != 0 || r.NanoCPUs != 0 || r.PidsLimit != nil {
		t.Fatalf("unlimited: %+v", r)
	}
}

// The Engine warns, rather than fails, when the kernel cannot enforce a
// limit, and drops it: a launch must refuse that, and pass the rest on.
func TestCreateWarnings(t *testing.T) {
	ws, err := checkCreateWarnings([]string{"Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap."})
	if err != nil || len(ws) != 1 || !strings.HasPrefix(ws[0], "docker: ") {
		t.Fatalf("a soft warning: %v %v", ws, err)
	}
	_, err = checkCreateWarnings([]string{"Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded."})
	if err == nil || !strings.Contains(err.Error(), "PIDs limit discarded") {
		t.Fatalf("a discarded limit: %v", err)
	}
}

// Under runsc the default pids limit is left out; a manifest's is refused.
// The warning that says so is for bottles with nothing else to stop a fork
// loop: a memory limit does, and then there is nothing to warn about.
func TestRunscResources(t *testing.T) {
	def := map[string]string{"pids": schemas.OriginDefault}
	cases := []struct {
		name    string
		in      schemas.PlannedResources
		runtime string
		pids    int64
		warn    bool
		err     string
	}{
		{"runc keeps pids", schemas.PlannedResources{Pids: 4096, Origin: def}, schemas.RuntimeRunc, 4096, false, ""},
		{"runsc drops the default, warns without memory", schemas.PlannedResources{Pids: 4096, Origin: def}, schemas.RuntimeRunsc, 0, true, ""},
		{"runsc drops the default, memory bounds forks", schemas.PlannedResources{Pids: 4096, MemoryBytes: 1 << 30, Origin: def}, schemas.RuntimeRunsc, 0, false, ""},
		{"runsc refuses the manifest's", schemas.PlannedResources{Pids: 64, Origin: map[string]string{"pids": "b.yaml:3:9"}}, schemas.RuntimeRunsc, 0, false, "set at b.yaml:3:9"},
	}
	for _, c := range cases {
		out, ws, err := runtimeResources(c.in, c.runtime)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || out.Pids != c.pids || (len(ws) > 0) != c.warn {
			t.Errorf("%s: pids %d warnings %q err %v; want pids %d, warning %v", c.name, out.Pids, ws, err, c.pids, c.warn)
		}
	}
}
