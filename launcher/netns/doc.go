// Package netns is the local backend (--backend local, the default on
// Linux): the bottle is the bot-bottle binary re-executed as the bottle's
// init in new user, network, mount, pid, IPC and UTS namespaces.
//
// The network namespace has loopback and nothing else, so the only way out
// is the init's forwarder to the owner's proxy socket. The mount namespace
// hides the host's homes, the bot-bottle home, temporary folders and
// runtime sockets (the Docker socket among them) under empty tmpfs mounts,
// password hashes and host keys under /dev/null, replaces /dev with the
// harmless devices only, then binds the workdir back read-write; the
// command runs in a nested user namespace where those mounts are locked.
// The init dies with its owner (parent-death signal), taking the whole pid
// namespace with it.
//
// The command has the invoking user's file permissions on whatever is not
// hidden. For host root that would include /etc (cron, systemd units: a
// way out of the bottle), so when the invoking user is root the rest of
// the filesystem is always read-only, as with --readonly-root.
//
// # Resources
//
// A bottle's resources (pids, memory, cpus) are bounded by a cgroup of its
// own, which its init is in before it runs anything: on cgroup v2 the init
// is cloned into it (CLONE_INTO_CGROUP); on v1 it waits at a start gate (a
// pipe) until the owner has written its pid into each controller's
// cgroup.procs. Where the cgroup goes:
//   - v2, an owner alone in a cgroup delegated to it (systemd-run --user
//     --scope -p Delegate=yes): the owner moves itself into a leaf
//     (bot-bottle-owner), enables the controllers and makes
//     bot-bottle-<id> beside it, so the bottle is accounted inside the
//     owner's own limits;
//   - v2, root otherwise: /sys/fs/cgroup/bot-bottle/bot-bottle-<id>;
//   - v1 (no safe delegation), root only: bot-bottle-<id> under root's own
//     cgroup in the pids, memory and cpu hierarchies.
//
// The limits are set on bot-bottle-<id> and repeated on its child
// bot-bottle-<id>/bottle, which holds the processes: programs find their
// limits in their own cgroup, and the outer copy stays out of the reach of
// any cgroup namespace the bottle makes. Every cgroup hierarchy is
// read-only in the bottle (locked there by the nested user namespace), so
// it can neither lift a limit nor move itself out.
//
// Swap is held to the memory limit, and on v2 memory.oom.group makes an
// OOM kill take the whole bottle; on v1 the kernel kills one process and
// the launcher, polling the counters, ends the rest. The cgroup folders are
// recorded in the run folder before they are made, removed when the
// bottle is released, and by cleanup (Leftovers) after a crashed owner.
//
// Without a cgroup (a non-root owner on v1, an undelegated v2 cgroup),
// pids falls back to RLIMIT_NPROC, set by the init just before the command
// starts: since Linux 5.14 the kernel counts it per user namespace, so it
// bounds the bottle's own tasks, but it never binds a task of host root and
// has no counter of refused forks. The launch says so in a warning; a
// memory or cpus limit, which nothing else can bound, refuses the launch.
package netns
