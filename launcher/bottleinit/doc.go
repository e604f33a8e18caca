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
// sockets, binding the workdir back, mounting its protected paths over
// themselves, read-only). Then it starts the command with
// exactly the environment it was given, forwards signals, reaps orphans and
// exits with the command's exit code.
//
// Everything it needs arrives in one Config file written by the launcher;
// nothing in it is secret (token values stay in the owner's proxy).
package bottleinit
