// Package docker is the docker backend (--backend docker): the bottle is a
// container with no network (NetworkMode "none": loopback only), driven
// through the Docker Engine API with the official Go client.
//
// The container reaches the owner's egress proxy the same way a local
// bottle does: the static bot-bottle binary is bind-mounted read-only as the
// entrypoint and runs the bottle init, whose forwarder relays
// 127.0.0.1:<port> to the proxy's unix socket in the bind-mounted run
// folder. The image is the manifest's agent_provider.image, or a tiny
// default built FROM scratch from busybox. Every object the backend creates
// carries dev.bot-bottle.* labels naming its bottle, home and owner, so that
// cleanup finds what a crashed owner left behind.
//
// # The container is a boundary
//
// DESIGN notes. The container's processes never run as root: run as root,
// the agent could chmod 4755 a file it owns in the bind-mounted workdir, and
// any host user who ran it would be root. The user (User "uid:gid") is the
// workdir's owner when a user owns it (the agent's files are theirs), else
// the launching user when that is not root, else (root, in a root-owned
// workdir) the image's numeric non-root USER or nobody (65534). The agent's
// home tmpfs belongs to that user. All capabilities are dropped,
// no-new-privileges is set, Docker's default seccomp profile and masked and
// read-only paths apply, and the init adds its own filter that refuses
// setuid and setgid bits.
//
// The Engine API has no nosuid for binds. A root owner therefore mounts the
// workdir itself, nosuid and nodev, at a private path of the run folder and
// hands that path to Docker (a bind keeps the flags of what it binds); in a
// root-owned workdir that mount is also idmapped, 0 to the container's
// user, so the agent can write there and its files stay root's (the user
// namespace of that idmap is made once per container user and kept at
// /run/bot-bottle/userns/<uid:gid>, readable by root alone). The
// kept agent home gets the same treatment, as an overlay made from
// descriptors (bottleinit.KeptHomeMount): its mountinfo root is the
// overlay's own, so the bottle does not learn where the bot-bottle home
// is (a kernel before 6.13 gets a nosuid,nodev bind and a warning). The
// host-side mounts are detached as soon as the container runs, and removing
// a run folder detaches any mount left inside first. An owner that is not
// root cannot mount: its bottle's workdir is a plain bind, and the user,
// no-new-privileges, no capabilities and the filter are what keep a setuid
// file from being made (a file the agent owns is the owner's anyway).
//
// # gVisor (runsc)
//
// Where Docker has gVisor's runsc registered, bottles run under it by
// default (the manifest's runtime: auto; runc and runsc pin one, and runsc
// where Docker has none, or has it registered so that no bottle could work
// under it, is refused at plan and at launch, never run under runc
// instead). The bottle's system calls then go to gVisor's kernel, a Go
// program in user space, not to the host's: a kernel bug reachable from a
// container is not reachable from the bottle. The same boundary as under
// runc holds (the user, no capabilities, no-new-privileges, the init's
// filter, which gVisor enforces itself), and what differs is this:
//   - runsc must be registered with --host-uds=open: the bottle's way out is
//     a connect to a host unix socket (its proxy's), which runsc refuses by
//     default. With --network=none the sandbox has its own loopback and no
//     other interface (runsc 2022's network setup also fails on kernels
//     whose network namespaces have net.core.rmem_default, Linux 6.x).
//     scripts/setup.sh registers it so, with the platform that runs here.
//   - Files are read and written on the host by gVisor's gofer, a process
//     running as root, through its own bind of the workdir: the owner's
//     nosuid,nodev mount, which the gofer's mountinfo shows. Inside, the
//     sandbox's mount table is gVisor's, built from the OCI spec, where
//     Docker cannot say nosuid for a bind; set-id bits cannot work there
//     anyway (no-new-privileges, and the filter refuses them). In a
//     root-owned workdir the gofer creates each file as root, then chowns
//     it to the sandbox user: its idmap namespace also maps that user back
//     to root (see idmapNamespace), so the files stay root's on disk.
//   - The terminal is the host's tty passed through: gVisor cannot make it
//     a new session's controlling terminal, so the init's command stays in
//     the init's session, leading its foreground group (^C and resizes
//     reach it), and /dev/tty answers EIO (gVisor 2022 has no /dev/tty).
//   - /proc is gVisor's: /proc/version and dmesg name gVisor, there is no
//     /proc/sys/kernel, and /proc/self/status has no NoNewPrivs line
//     (prctl answers). Host kernel files are absent, not masked.
package docker
