// Package bottleinit is the init that runs as pid 1 inside a bottle, for
// every backend: the bot-bottle binary re-executed in fresh namespaces by
// the local backend, or bind-mounted as the entrypoint of a container by the
// docker backend.
//
// It sits between the launcher and the agent's command on the data path:
// it brings up loopback, starts the forwarders that are the bottle's only
// way out (127.0.0.1:<port> relayed to the owner's unix sockets for the
// egress proxy and the agent surface), and for the local backend builds the
// bottle's view of the filesystem (hiding the host's home, state and
// sockets, binding the workdir back nosuid and nodev, mounting its protected
// paths over themselves, read-only) and the kernel surface of a container (a
// read-only sysfs of the bottle's network namespace, /proc/sys and the other
// global knobs read-only, kernel memory and timing files masked). Then it
// starts the command with exactly the environment it was given, under a
// seccomp filter that refuses setuid and setgid bits, forwards signals, reaps
// orphans and exits with the command's exit code.
//
// Everything it needs arrives in one Config, written by the launcher (a file
// in the bottle's run folder for docker, a descriptor for the local
// backend); nothing in it is secret (token values stay in the owner's
// proxy). Every descriptor the init inherits is closed on exec before
// anything else happens, and the init is not dumpable: the command can
// neither reach a host folder through one nor read the init's memory.
package bottleinit
