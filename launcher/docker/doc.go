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
package docker
