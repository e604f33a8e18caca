// Package launcher starts and stops bottles: isolated process trees whose
// only way to the network is their own egress proxy.
//
// On the data path it comes after the planner and before everything that
// watches a bottle: it turns a Plan into a running bottle (a CA minted for
// it, its egressproxy.Proxy serving a unix socket in the bottle's run
// folder, the agent-surface socket beside it, the command started by a
// Backend), and reports each change of the bottle's state as a lifecycle
// event on the shared channel.
//
// The channel's durable store is also the registry of bottles: the latest
// lifecycle event of each says whether it runs, which process owns it and
// where its run folder and container are. Every bottle is owned by the
// process that launched it; another process (bot-bottle stop, an MCP
// client of another server) asks the owner to stop it with a stop-request
// event and never reaches into the bottle itself. When the owner is dead,
// cleanup removes what it left: run folders, containers, networks.
//
// The workdir is the one host folder a bottle writes; what in it the host
// later runs or trusts (git hooks and config, editor and agent settings)
// is read-only in every bottle, existing or not: protect.go decides which
// paths, placeholder.go holds the missing ones, workdirlock.go keeps them
// until the last bottle that may stand on them ends (workdirprobe.go lets
// the teardowns of many bottles do that in parallel), and sweep.go defuses
// at the end what no mount can hold (a git repository planted anywhere).
//
// A bottle's end is recorded as soon as its processes are gone and its
// workdir is swept; the host-side cleanup (cgroups or container,
// placeholders, the run folder, last) follows, bounded per owner, so an
// owner of a thousand bottles stops them in parallel. What a dying owner
// had not removed yet stays recorded for the next cleanup. An owner's
// Close waits while its bottles keep finishing, and names what it leaves
// when none has for a while.
//
// A bottle's resource limits (the plan's resources) are enforced by its
// backend; the owner polls the backend's counters (LimitReporter) while the
// bottle runs. The first time a limit is met is a bottle.limit event; an
// OOM kill ends the whole bottle on every backend; the exited lifecycle
// event carries which limit the bottle met (reason) and how often.
//
// Backends live in subpackages: launcher/netns (local namespaces) and
// launcher/docker; launcher/bottleinit is the init that runs as pid 1 in
// either.
package launcher
