// Package events is the shared event channel: the one path by which denials,
// proposals, decisions, route reloads and bottle lifecycle changes travel
// between the parts of bot-bottle and between bot-bottle processes. It sits
// after the proxy's decision on the data path (manifest -> plan -> proxy
// decision -> event -> review -> reload) and imports only schemas.
//
// # Shape
//
// Producers (the egress proxy, the launcher, review) hand events to a
// Publisher, which never blocks them. Every event is stored in a Store, the
// durable channel (events/sqlite on one machine: $BOT_BOTTLE_HOME/state.db).
// The store assigns each event its Seq (gapless per bottle) and Pos (global,
// in commit order), and ignores an event whose ID it already has, so
// delivering twice stores once. Readers replay from a Cursor (after a seq of
// one bottle, or after a global position) and follow live in the same loop
// (Store.Follow), so there is no seam between replay and live where an event
// could be missed or repeated. Subscribers (MCP notifications, the review
// queue, metrics, the audit log) each follow the store; they never read from
// each other.
//
// Listings (the operator's and an agent's denials, the review desk's
// proposals, `events --kind/--host`) do not replay: Store.Query selects by
// kind, bottle, host (HostOf) and time, newest first, and pages by a Mark,
// from indexes, so a page costs the same at a thousand events or a
// million.
//
// # In one process: Bus
//
// Bus is the Publisher of a control plane (`launch`, `serve`). Publish
// appends to a queue under a mutex and returns; one writer goroutine stores
// the queue in batches and rings the store's doorbell. A subscriber that
// falls behind only lags: it reads its backlog from the store at its own
// pace (counted in bot_bottle_events_follower_behind_total) and can neither
// slow the producer nor lose events. When the store cannot be written (a
// full disk, a lock held by a stuck process), the writer retries with
// backoff while the queue holds up to BusOptions.QueueLimit events; past
// that, Publish drops the new event and counts it
// (bot_bottle_events_dropped_total{reason="queue_full"}): the bound keeps a
// dead store from taking the process's memory. When the process exits
// (Bus.Close), what is still unstored is not dropped: it goes to the
// process's own spool (BusOptions.SpoolDir, the sidecar's spool format),
// into disk space set aside when the bus started (a full disk is often
// the store's own doing), and the next process that opens the store
// delivers it (DeliverSpools). Close says how many it spooled, and the
// bottle's last lifecycle event carries the count.
//
// # Between processes on one machine: the store
//
// Several processes open state.db at once (SQLite WAL); each commit rings a
// doorbell file beside it (a futex in a shared mapping) that every process
// waits on, so an event written by one process reaches a follower in
// another within milliseconds (see events/sqlite).
//
// # From a standalone sidecar: Forwarder and Handler
//
// A sidecar (`bot-bottle egress` in a container) may not see state.db. Its
// Publisher is a Forwarder: it appends each event to a local spool
// (JSONL, fsync'd) and sends the spool, in order, in batches, as
// POST /v1/events over the control plane's unix socket, where NewHandler
// appends the batch to the store and answers only after the commit. The
// spool advances only on that answer; until then, delivery retries with
// jittered exponential backoff, and a restarted sidecar resumes from its
// spool. A lost answer means the batch is sent again and the store keeps
// one copy (idempotent ids): at-least-once delivery, exactly once stored.
// `bot-bottle events serve` is the control plane that serves the handler
// (ListenControl, one bottle per socket by default).
//
// Why push over a unix socket rather than the control plane pulling from
// sidecars: the sidecar knows when it has something, so there is no polling
// and no discovery of sidecars; acknowledging after commit is the whole
// contract, which a spool makes simple and crash-safe; the socket is a file,
// so file permissions and which mounts a container gets decide who can
// speak, and no port is ever opened. Plain HTTP keeps it debuggable with
// curl --unix-socket. The handler accepts only the kinds a sidecar produces
// (denials, reloads) and can be bound to one bottle, so a compromised
// sidecar cannot publish a review decision or speak for another bottle.
//
// # Audit log
//
// RunAudit writes $BOT_BOTTLE_HOME/audit/audit.jsonl from the channel: one
// line per decision, applied decision and reload, each the stored event.
// Every control-plane process may run it; one at a time writes (an flock),
// and the log is its own cursor (the pos of its last line), so each event is
// written exactly once whichever process writes it and however often
// writers die.
//
// # Retention
//
// The store keeps a bounded number of events per bottle and deletes older
// ones in small background transactions. A reader whose cursor falls in a
// deleted range is told (Gap), never left to skip silently. The latest
// event of each kind of each bottle is kept apart (Store.Latest), so the
// registry of running bottles survives retention.
//
// # Beyond one machine
//
// On more than one machine the channel is NATS JetStream
// (BOT_BOTTLE_EVENTS=nats://…, events/natsjs): the same Store contract,
// one stream with a subject per bottle and kind, the event id as
// Nats-Msg-Id (the stream's duplicate window does what the unique id
// index does here), Seq kept gapless per bottle by publishing with the
// expected last sequence of the bottle's subjects (optimistic
// concurrency, retried on conflict), Pos the stream sequence, and
// retention per subject, which keeps the latest of each kind. What
// cannot be stored while the server is away waits where it waits for
// SQLite: in the Bus's queue and, at exit, its spool; in a sidecar's
// Forwarder spool, which can deliver to such a store directly
// (ForwarderOptions.Store). The storetest package is the contract both
// implementations pass.
package events
