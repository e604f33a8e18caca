// Package gitgate is a bottle's git gate: the one way the agent's git
// reaches the repositories its manifest names (git-gate.repos), and the
// only way its commits leave the bottle.
//
// The gate is served by the bottle's owner on a unix socket that the
// bottle's init relays to 127.0.0.1 inside the bottle, like the agent
// surface; the agent's ~/.gitconfig rewrites each repo's real URL to it.
// It speaks git's smart HTTP protocol and keeps, out of the bottle's view,
// one bare mirror per repo:
//
//   - Fetch and clone: the mirror is first brought up to date from the
//     real upstream (the host credential, fail closed when the upstream
//     cannot be reached), then served by real git (`git http-backend`,
//     with no hook and no config but the gate's own).
//   - Push: the gate reads the ref updates itself, indexes the pack into a
//     quarantine object folder (`git index-pack --strict`, the mirror as
//     its alternate; bounded in time and in heap, since a few bytes of
//     deltas can describe a blob of any size and git runs on the host,
//     outside the bottle's limits), and decides before anything moves: refs outside the
//     repo's push patterns, deletions and non-fast-forwards (unless force)
//     are refused; the new commits (`new --not --all`, the mirror's refs
//     being what the upstream had) are scanned with the dlp package's
//     detector, the same as the egress proxy's. A finding refuses the
//     push with a message the agent's git prints (rule, file, line,
//     commit; never the secret) and becomes a proposal on the review desk
//     (Supervisor); once the operator approves it, the same commits go
//     through. A clean or approved push is pushed to the upstream with
//     the host credential, which never enters the bottle, and the
//     upstream's answer is reported back per ref.
//
// Every push is a git.push event (schemas.GitPush). The package sits in
// the core beside the egress proxy: it imports schemas and dlp only, and
// the owner's wiring (the launcher) starts it.
package gitgate
