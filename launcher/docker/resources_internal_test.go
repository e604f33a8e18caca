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
