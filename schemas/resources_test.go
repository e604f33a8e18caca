package schemas

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestResourcesDecode(t *testing.T) {
	cases := []struct {
		src                string
		memory, cpus, pids int64
	}{
		{src: "resources: {memory: 512M, cpus: 1.5, pids: 4096}", memory: 512 << 20, cpus: 150, pids: 4096},
		{src: "resources: {memory: 2GiB, cpus: 2, pids: 64}", memory: 2 << 30, cpus: 200, pids: 64},
		{src: "resources: {memory: 2gb, cpus: 0.01}", memory: 2 << 30, cpus: 1},
		{src: "resources: {memory: 1.5G}", memory: 3 << 29},
		{src: "resources: {memory: 67108864, cpus: 0.25}", memory: 64 << 20, cpus: 25},
		{src: "resources: {memory: '512 MiB'}", memory: 512 << 20},
		{src: "resources: {memory: unlimited, cpus: unlimited, pids: unlimited}"},
	}
	for _, c := range cases {
		m, err := ParseManifest("x.yaml", []byte(c.src))
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		r := m.Resources
		if r.Memory != nil && int64(*r.Memory) != c.memory || r.Memory == nil && c.memory != 0 {
			t.Errorf("%s: memory %v, want %d", c.src, r.Memory, c.memory)
		}
		if r.CPUs != nil && int64(*r.CPUs) != c.cpus || r.CPUs == nil && c.cpus != 0 {
			t.Errorf("%s: cpus %v, want %d", c.src, r.CPUs, c.cpus)
		}
		if r.Pids != nil && int64(*r.Pids) != c.pids || r.Pids == nil && c.pids != 0 {
			t.Errorf("%s: pids %v, want %d", c.src, r.Pids, c.pids)
		}
	}
}

func TestResourcesUnlimitedIsSetNotUnset(t *testing.T) {
	m, err := ParseManifest("x.yaml", []byte("resources: {memory: unlimited}"))
	if err != nil {
		t.Fatal(err)
	}
	// extends needs to tell "lift the parent's limit" from "say nothing".
	if m.Resources.Memory == nil || *m.Resources.Memory != 0 || m.Resources.CPUs != nil {
		t.Fatalf("memory %v cpus %v: want memory set to unlimited, cpus unset", m.Resources.Memory, m.Resources.CPUs)
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{
		512 << 20: "512MiB", 2 << 30: "2GiB", 1536 << 10: "1536KiB", 6 << 20: "6MiB", 1 << 50: "1PiB", 1000: "1000B",
	} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
	r := PlannedResources{MemoryBytes: 512 << 20, CPUs: 1.5, Pids: 4096}
	if got := r.Describe(); got != "pids 4096, memory 512MiB, cpus 1.5" {
		t.Errorf("Describe: %q", got)
	}
	if got := (PlannedResources{}).Describe(); got != "pids unlimited, memory unlimited, cpus unlimited" {
		t.Errorf("Describe unlimited: %q", got)
	}
}

// FuzzResourceLimits checks that each limit's parser never panics, that
// what it accepts is within bounds, and that a limit written back the way
// plan prints it parses to the same value.
func FuzzResourceLimits(f *testing.F) {
	for _, s := range []string{"512M", "2GiB", "1.5", "4096", "unlimited", "0.01", "99999999999P", "-1", "1e3", "0x40", ".inf", "6291456", "'2'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, field := range []string{"memory", "cpus", "pids"} {
			var n yaml.Node
			if yaml.Unmarshal([]byte(s), &n) != nil || len(n.Content) != 1 || n.Content[0].Kind != yaml.ScalarNode {
				return
			}
			sc := n.Content[0]
			var (
				v    scalarDecoder
				back func() string
			)
			switch field {
			case "memory":
				var m MemoryLimit
				v, back = &m, func() string {
					if m != 0 && (m < MinMemory || m > MaxMemory) {
						t.Fatalf("memory %q accepted out of bounds: %d", s, m)
					}
					return m.String()
				}
			case "cpus":
				var c CPULimit
				v, back = &c, func() string {
					if c < 0 || c > MaxCPUs*100 {
						t.Fatalf("cpus %q accepted out of bounds: %d", s, c)
					}
					return c.String()
				}
			case "pids":
				var p PidsLimit
				v, back = &p, func() string {
					if p != 0 && (p < MinPids || p > MaxPids) {
						t.Fatalf("pids %q accepted out of bounds: %d", s, p)
					}
					return p.String()
				}
			}
			msg, _ := v.decodeScalar(sc)
			if msg != "" {
				continue
			}
			printed := back()
			m, err := ParseManifest("x.yaml", []byte("resources: {"+field+": "+printed+"}"))
			if err != nil {
				t.Fatalf("%s %q printed as %q, which does not parse: %v", field, s, printed, err)
			}
			var again string
			switch field {
			case "memory":
				again = m.Resources.Memory.String()
			case "cpus":
				again = m.Resources.CPUs.String()
			case "pids":
				again = m.Resources.Pids.String()
			}
			if again != printed {
				t.Fatalf("%s %q: printed %q, parsed back as %q", field, s, printed, again)
			}
		}
	})
}
