// Package netns is the local backend (--backend local, the default on
// Linux): the bottle is the bot-bottle binary re-executed as the bottle's
// init in new user, network, mount, pid, IPC and UTS namespaces.
//
// The network namespace has loopback and nothing else, so the only way out
// is the init's forwarder to the owner's proxy socket. The mount namespace
// hides the host's homes, the bot-bottle home, temporary folders, runtime
// sockets (the Docker socket among them), and where hosts keep data, mounts,
// mail, logs and TLS keys (/srv, /mnt, /media, /var/log, …: a file there is
// often world-readable) under empty tmpfs mounts,
// password hashes and host keys under /dev/null, replaces /dev with the
// harmless devices only, then binds the workdir back read-write; the
// command runs in a nested user namespace where those mounts are locked.
// The init dies with its owner (parent-death signal, or its spawner's,
// which dies with the owner: see The spawner), taking the whole pid
// namespace with it.
//
// # The bottle is a boundary
//
// DESIGN notes: nothing the agent does inside may run on the host as root,
// now or later.
//
// Identity. The bottle's root is one host id, mapped alone (size 1):
//   - an owner that is not root: the owner, exactly as before;
//   - root, in a workdir a user owns: that user and their group (never gid
//     0), so the agent has that user's rights and its files are theirs;
//   - root, in a workdir root owns (CI, servers, containers): an
//     unprivileged id leased for the bottle's life from root's range in
//     /etc/subuid and /etc/subgid, or, when they give root none, from the
//     fixed range 0x60000000+64Ki (inside systemd's container range). A
//     lease is an flock on /run/bot-bottle/id-leases/<uid>, so bottles never
//     share an id and cannot signal or trace each other, and a crashed
//     owner's lease goes with it. The workdir is then an idmapped mount
//     (open_tree + mount_setattr MOUNT_ATTR_IDMAP with the bottle's own user
//     namespace, made by the owner, who alone may, and sent to the init as
//     a descriptor): root's files show as the bottle root's and the files
//     the agent writes stay root's on disk. Where the kernel or the
//     filesystem cannot idmap, the launch fails and says so; the bottle
//     never falls back to host root. Host uid 0 is mapped in no bottle.
//
// Root's supplementary groups are dropped. The command runs under a
// seccomp filter (bottleinit.Filter) that refuses setuid and setgid bits,
// so no bottle leaves a file in the workdir that gives its owner's rights
// to whoever runs it; in the idmapped case it also refuses extended
// attributes, since a file capability written there would be root's on
// the host. The workdir (every bind) is nosuid and nodev. For a root owner
// the rest of the filesystem is always read-only, as with --readonly-root.
//
// Kernel surface: the one runc gives a container (see bottleinit):
// /proc/sys, sysrq-trigger, irq, bus and fs read-only; kcore, keys,
// timer_list, sched_debug, latency_stats, /sys/firmware and the like
// masked; a fresh read-only sysfs of the bottle's network namespace; the
// command in a cgroup namespace. With the unprivileged identity a missed
// knob is still not host root's.
//
// Host facts: the init is executed through a descriptor of the binary with
// argv[0] "bot-bottle", reads its config from a descriptor (the config is
// kept in the run folder, out of the bottle's view), reaches the proxy and
// agent-surface sockets through descriptors, and gets the bottle CA as a
// file written inside the bottle; every inherited descriptor is closed on
// exec and the init is not dumpable. The command's PATH is the host's
// without the folders the bottle cannot see. So /proc/1/cmdline, what the
// bottle can read of the init, and its mountinfo name no host path of the
// bot-bottle home, the run folder or the binary; the agent's home keeps
// the host home's path (tools that remember absolute paths find it), as an
// empty tmpfs, or, with a kept agent home, as that home. A bind's
// mountinfo root is its source's path on the host, so the kept home is no
// bind but the upper layer of an overlay over an empty tmpfs
// (bottleinit.KeptHomeMount; made by a root owner, idmapped, and sent, or
// else by the init in its user namespace), with layers passed as
// descriptors of detached mounts: its options name the home by its own
// name only ("upperdir=/<bottle>-<hash>", which the bottle can work out
// itself), and its work folder is kept beside it (.<bottle>-<hash>.work).
// On a kernel before 6.13 the home is bound instead and the launch warns
// that its host path shows. One bottle at a time keeps a home (the
// launcher's lock beside it); another launch of it in the same workdir
// gets a home of its own in its run folder, mounted the same way.
//
// # The spawner
//
// A start in a new user namespace cannot use vfork (Go's exec falls back
// to a full fork for CLONE_NEWUSER), so started by its owner an init costs
// a copy of the owner's page tables and a write-protect of all its memory:
// for serve, a cost that grows with every bottle it owns. A long-lived
// owner (serve; WithSpawner) therefore starts its inits through a spawner,
// a small bot-bottle process (SpawnerCommand) it starts once, without new
// namespaces (so with vfork), at its first launch and again after the
// spawner died. The owner still prepares everything (identity, mounts,
// cgroups, descriptors) and describes the start; the spawner only carries
// it out: the same clone flags, id maps, setgroups, credential,
// parent-death signal and CLONE_INTO_CGROUP, with stdio, the extra files
// and the cgroup passed as descriptors (SCM_RIGHTS) on a socket pair whose
// end it inherits, so no path names it and only its owner can ask it
// anything. It refuses a request without a parent-death signal, and the
// wire refuses any process attribute it does not carry.
//
// The spawner sends back the init's pid and pidfd: the owner signals
// through the pidfd, and, as the init's parent, the spawner reaps it and
// sends its wait status. Deaths chain: the spawner has the parent-death
// signal SIGKILL and checks after its start that its parent is still the
// owner, so the owner's death kills it; the inits have theirs, so its
// death kills them. The owner sees the socket close, reports every bottle
// it had ended (exit 137, "the bottle spawner died") once its pidfd says
// so, and starts a new spawner at the next launch. The spawner is in a
// process group of its own, so a ^C at the owner's terminal is the
// owner's to handle rather than a kill of every bottle at once; it shares
// the owner's cgroup (and moves with it into its leaf). launch owns one
// bottle and stays small, so it starts its init itself: a spawner would
// only add a process start to the launch.
//
// # The probe
//
// Check runs the init once in throwaway namespaces to learn whether this
// machine allows them, before anything of a launch starts. A probe is a
// whole process of the binary, so a success is remembered in the
// bot-bottle home (local-probe, written by the CLI's backend) with what it
// proved: the boot, the user, the binary and the user-namespace knobs. A
// launch whose facts match skips the probe; a start that then fails
// probes again, so the error still names the cause.
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
