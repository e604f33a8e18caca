// Package review is remediation: an agent denied by its bottle's proxy asks
// for more egress, a person decides, and the live proxy changes.
//
// It sits at the end of the data path (manifest -> plan -> proxy decision ->
// event -> review -> reload). Two roles meet only on the shared event
// channel:
//
//   - The Owner runs in the process that owns a bottle. It turns an agent's
//     request into a validated Proposal with the exact route-table delta
//     (merging identical pending ones, bounding the rate), publishes it, and
//     applies the Decisions it reads back from the channel: an atomic reload
//     of its live proxy, a manifest edit for scope persist, and an Applied
//     event that also answers the agent's waiting call.
//   - The Desk runs wherever an operator is (MCP, CLI, the web page). It
//     lists proposals from the channel, checks a decision (the proposal is
//     pending, the bottle runs), publishes it, and waits for the owner's
//     Applied.
//
// A request the proxy holds because it carries a secret (DLP policy
// supervise) travels the same way as a proposal of kind release
// (hold.go): approve releases it, deny or the hold's timeout refuses it,
// and it never carries the secret.
//
// A push the git gate refused because its new commits carry secrets
// travels the same way as a proposal of kind push (push.go): approve
// releases those commits' findings for the agent's next push, deny keeps
// them refused.
//
// A proposal still pending when its bottle ends expires (expire.go): the
// owner publishes an Expired for each as the bottle ends, and any desk that
// finds a bottle's owner dead (listing, deciding, the CLI's ps and cleanup)
// does it for a dead owner. The event's id is derived from the proposal, so
// expiry is idempotent across processes; deciding an expired proposal says
// when the bottle ended.
//
// An approval with scope once may carry a time limit (lifetime.go,
// temporary.go): the owner removes the route it added when the time is up,
// restoring what the host had before, and publishes a RouteExpired; a
// later decision on the same host and port takes the route over.
//
// Credentials stay the operator's: an approval never adds or changes auth;
// a modify may name a host variable for auth only with scope persist, and
// then takes effect through the manifest at the bottle's next launch.
package review
