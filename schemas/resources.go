package schemas

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"gopkg.in/yaml.v3"
)

// Resources bounds a bottle's whole process tree: the memory it may use,
// the CPU time it may take, and how many tasks (processes and threads) it
// may hold at once. A field left unset takes its parent's value under
// extends, else the default: DefaultPids, memory and cpus unlimited. Each
// field may be written `unlimited` to lift a parent's limit or the default.
type Resources struct {
	Memory *MemoryLimit `yaml:"memory" json:"memory,omitempty"`
	CPUs   *CPULimit    `yaml:"cpus" json:"cpus,omitempty"`
	Pids   *PidsLimit   `yaml:"pids" json:"pids,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// Unlimited is how a manifest writes "no limit" for a resource.
const Unlimited = "unlimited"

// DefaultPids is the pids limit of a bottle whose manifests set none: far
// above what a build needs, far below what takes a host down.
const DefaultPids = 4096

// Bounds of the values a manifest may give. The floors keep a bottle able
// to start at all: its init is a Go program with a handful of threads and a
// few MiB of memory (6MiB is also the Docker Engine's own floor).
const (
	MinMemory = 6 * units.MiB
	MaxMemory = units.PiB
	MinPids   = 32
	MaxPids   = 4194304 // the kernel's ceiling for pid_max
	MaxCPUs   = 1024
)

// MemoryLimit is a memory limit in bytes; 0 means unlimited. A manifest
// writes it as a size in binary units, as Docker does (512M and 512MiB are
// both 512×2^20 bytes), as a plain number of bytes, or as `unlimited`.
type MemoryLimit int64

// CPULimit is a CPU limit in hundredths of a CPU (150 is 1.5 CPUs); 0
// means unlimited. A manifest writes it as a number of CPUs with at most two
// decimals, or as `unlimited`.
type CPULimit int64

// PidsLimit is the most tasks the bottle may hold at once; 0 means
// unlimited. The kernel counts threads as tasks, so it bounds both.
type PidsLimit int64

// scalarDecoder is a schema type that parses its own YAML scalar. It
// returns what is wrong with the scalar ("" when nothing is) and a hint.
// Messages never quote the value: it might be a secret pasted into the
// wrong field.
type scalarDecoder interface {
	decodeScalar(n *yaml.Node) (problem, hint string)
}

var (
	_ scalarDecoder = (*MemoryLimit)(nil)
	_ scalarDecoder = (*CPULimit)(nil)
	_ scalarDecoder = (*PidsLimit)(nil)
)

const (
	memoryWant = "must be a size such as 512M or 2GiB, or unlimited"
	cpusWant   = "must be a number of CPUs such as 1.5, or unlimited"
	pidsWant   = "must be a whole number of tasks such as 4096, or unlimited"
)

func isUnlimited(n *yaml.Node) bool { return n.ShortTag() == "!!str" && n.Value == Unlimited }

func (m *MemoryLimit) decodeScalar(n *yaml.Node) (string, string) {
	if isUnlimited(n) {
		*m = 0
		return "", ""
	}
	var b int64
	switch n.ShortTag() {
	case "!!int":
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return memoryWant, ""
		}
		b = v
	case "!!str":
		v, err := units.RAMInBytes(n.Value)
		if err != nil {
			return memoryWant, "units are binary: K, M, G, T; 1M is 1MiB"
		}
		if v < 0 { // go-units refuses negative sizes, so this overflowed int64
			v = math.MaxInt64
		}
		b = v
	default:
		return memoryWant + ", got " + describe(n), ""
	}
	switch {
	case b < MinMemory:
		return "must be at least " + FormatBytes(MinMemory), "write unlimited for no limit"
	case b > MaxMemory:
		return "must be at most " + FormatBytes(MaxMemory), "write unlimited for no limit"
	}
	*m = MemoryLimit(b)
	return "", ""
}

func (c *CPULimit) decodeScalar(n *yaml.Node) (string, string) {
	if isUnlimited(n) {
		*c = 0
		return "", ""
	}
	if tag := n.ShortTag(); tag != "!!int" && tag != "!!float" {
		hint := ""
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && tag == "!!str" {
			hint = "write the number without quotes"
		}
		return cpusWant + ", got " + describe(n), hint
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return cpusWant, ""
	}
	centi := math.Round(f * 100)
	switch {
	case f <= 0:
		return "must be more than 0", "write unlimited for no limit"
	case f > MaxCPUs:
		return fmt.Sprintf("must be at most %d", MaxCPUs), ""
	case centi < 1:
		return "must be at least 0.01", ""
	case math.Abs(f*100-centi) > 1e-6:
		return "must have at most two decimals", "e.g. 1.5 or 0.25"
	}
	*c = CPULimit(centi)
	return "", ""
}

func (p *PidsLimit) decodeScalar(n *yaml.Node) (string, string) {
	if isUnlimited(n) {
		*p = 0
		return "", ""
	}
	if n.ShortTag() != "!!int" {
		return pidsWant + ", got " + describe(n), ""
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return pidsWant, ""
	}
	switch {
	case v < MinPids:
		return fmt.Sprintf("must be at least %d: the bottle's init and the command's runtime need a few tasks of their own", MinPids),
			"write unlimited for no limit"
	case v > MaxPids:
		return fmt.Sprintf("must be at most %d", MaxPids), "write unlimited for no limit"
	}
	*p = PidsLimit(v)
	return "", ""
}

// String formats the limit the way a manifest may write it.
func (m MemoryLimit) String() string {
	if m == 0 {
		return Unlimited
	}
	return FormatBytes(int64(m))
}

// String formats the limit the way a manifest may write it.
func (c CPULimit) String() string {
	if c == 0 {
		return Unlimited
	}
	return strconv.FormatFloat(c.CPUs(), 'f', -1, 64)
}

// CPUs returns the limit as a number of CPUs (0: unlimited).
func (c CPULimit) CPUs() float64 { return float64(c) / 100 }

// String formats the limit the way a manifest may write it.
func (p PidsLimit) String() string {
	if p == 0 {
		return Unlimited
	}
	return strconv.FormatInt(int64(p), 10)
}

// FormatBytes writes a size exactly, in the largest binary unit that
// divides it (512MiB, 1536KiB), else in bytes (7000000B).
func FormatBytes(b int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{units.PiB, "PiB"}, {units.TiB, "TiB"}, {units.GiB, "GiB"}, {units.MiB, "MiB"}, {units.KiB, "KiB"}} {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(b/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(b, 10) + "B"
}

// PlannedResources are the limits a bottle is launched with, after
// extends are folded and defaults applied; a zero field is unlimited. Origin
// says where each came from: a manifest position, or "default".
type PlannedResources struct {
	MemoryBytes int64             `json:"memory_bytes,omitempty"`
	CPUs        float64           `json:"cpus,omitempty"`
	Pids        int64             `json:"pids,omitempty"`
	Origin      map[string]string `json:"origin"`
}

// OriginDefault is the origin of a limit no manifest set.
const OriginDefault = "default"

// Limited reports whether any limit is set.
func (r PlannedResources) Limited() bool { return r.MemoryBytes > 0 || r.CPUs > 0 || r.Pids > 0 }

// Describe lists the limits for a person: "pids 4096, memory 512MiB, cpus
// unlimited".
func (r PlannedResources) Describe() string {
	return strings.Join([]string{
		"pids " + PidsLimit(r.Pids).String(),
		"memory " + MemoryLimit(r.MemoryBytes).String(),
		"cpus " + CPULimit(math.Round(r.CPUs*100)).String(),
	}, ", ")
}
