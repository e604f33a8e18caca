package schemas

// LimitHits counts how often a bottle met its resource limits. The launcher
// reads them from the bottle's cgroup (or the Docker Engine) while the
// bottle runs and once more when it ends.
type LimitHits struct {
	// OOMKills is how many processes the kernel killed at the memory
	// limit. Docker reports only that it happened, counted as 1.
	OOMKills int `json:"oom_kills,omitempty"`
	// PidsRefused is how many new tasks (forks, threads) the pids limit
	// refused. It is 0 where the limit has no counter (RLIMIT_NPROC).
	PidsRefused int `json:"pids_refused,omitempty"`
}

// Reasons a lifecycle event gives for how a bottle ended, besides its
// command's own doing.
const (
	// ReasonOOM: the bottle reached its memory limit; the kernel killed a
	// process in it and the launcher ended the rest of the bottle.
	ReasonOOM = "oom"
	// ReasonPidsLimit: the bottle reached its pids limit and some forks
	// failed (EAGAIN); the bottle was not ended for it, but its command
	// may have failed because of it.
	ReasonPidsLimit = "pids_limit"
)

// Reason returns the reason code the hits give a bottle's end: ReasonOOM
// over ReasonPidsLimit, or "" when no limit was met.
func (h LimitHits) Reason() string {
	switch {
	case h.OOMKills > 0:
		return ReasonOOM
	case h.PidsRefused > 0:
		return ReasonPidsLimit
	}
	return ""
}

// Limit names in LimitReached.
const (
	LimitMemory = "memory"
	LimitPids   = "pids"
)

// LimitReached is the payload of a KindLimit event: a running bottle met
// one of its limits for the first time. Later hits are counted in the
// lifecycle event that records the bottle's end.
type LimitReached struct {
	Limit string `json:"limit"` // LimitMemory or LimitPids
	Max   string `json:"max"`   // the limit, as a manifest writes it
	// Action is what follows: for memory the bottle is ended; for pids the
	// forks over the limit fail and the bottle goes on.
	Action string `json:"action"`
}
