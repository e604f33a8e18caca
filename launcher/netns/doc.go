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
package netns
