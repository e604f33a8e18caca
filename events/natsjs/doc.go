// Package natsjs implements events.Store on NATS JetStream, the shared
// event channel for more than one machine (BOT_BOTTLE_EVENTS=nats://…):
// every bot-bottle process on every machine opens a Store on the same
// server (or cluster), and one review desk sees and decides for all. It
// passes the same contract as events/sqlite (events/storetest).
//
// # On the server
//
// With the default prefix "botbottle" (Options.Prefix):
//
//	stream  BOTBOTTLE_EVENTS   subjects botbottle.ev.<bottle>.<kind>
//	                           file storage, Options.Replicas replicas,
//	                           max messages per subject Options.Retain
//	                           (100,000), discard old, duplicate window
//	                           Options.Dedup (1h), direct get allowed,
//	                           republish botbottle.ev.> -> botbottle.bell.>
//	                           (headers only: the followers' doorbell)
//	bucket  BOTBOTTLE_OWNERS   key-value, one key per running bottle, TTL
//	                           Options.LeaseTTL (30s), history 1
//
// A kind's dot-separated parts are subject tokens
// (botbottle.ev.demo-1a2b.egress.denial), so a NATS permission can name
// what a user may publish. A bottle id (or a kind) that is not plain
// letters, digits, '-' and '_' is written as "~" (a key: "=") and its
// base64url. Whoever opens the store first creates the stream and the
// bucket; later stores look them up first and use them as they are, so a
// user allowed only to read their info (a sidecar's) can open the store.
//
// # Trust
//
// Whoever may publish to the stream may publish a decision, that is,
// approve egress: the NATS account is the trust boundary. A sidecar's user
// should be allowed to publish only its bottle's egress subjects (the
// README lists the permissions, and a test holds them). The server checks
// the subject, not the body, so a reader takes an event only from a
// message whose body names the bottle and kind its subject names, and
// steps over any other (a forged decision in a sidecar's denial, a body
// that is not an event): such a message can at worst misplace the seqs
// of the bottle whose subjects it was published on.
//
// # The store contract on a stream
//
// Pos is the stream sequence. Seq is carried in the message, and Append
// keeps it gapless per bottle with optimistic concurrency: each event is
// published expecting the stream sequence of its bottle's newest event as
// the last sequence of the bottle's subjects
// (Nats-Expected-Last-Subject-Sequence with the -Subject filter
// botbottle.ev.<bottle>.>); when another writer got there first, the
// server refuses and the event takes the next seq. The event id is the
// Nats-Msg-Id, so a copy delivered again within the duplicate window is
// stored once. A batch is not a transaction: a connection lost part-way
// stores a prefix, and the caller's retry stores the rest once.
//
// Read is JetStream's batched direct get (next_by_subj from a sequence),
// which needs no consumer; a bottle cursor is turned into a stream
// sequence by a binary search over positions. Follow is Read in a loop,
// woken by the doorbell (after the event is stored) or a 2s poll. Head
// and Latest read the last message of a subject (Latest through an
// ordered consumer delivering the last per subject).
//
// Query is served from an index kept in the process (index.go): each
// retained event's kind, time, position, bottle and host, built by
// reading the stream on the first Query and brought up to the stream's
// last sequence before each later one; the page's events are then
// fetched by position. So the first Query of a process costs a pass over
// the stream (about a second at 50,000 events), and every later page a
// few milliseconds whatever the stream holds. A stream made anew (another
// creation time, a last sequence that went back, an event that is not the
// one indexed at its position) drops the index, and an event retention
// removed is dropped when its page is fetched: the index never serves
// what the stream no longer holds.
//
// Retention is per subject, so a bottle's latest event of each kind is
// never removed, and a bottle's seqs can have holes anywhere. Readers are
// told: a page stops before a hole and the next begins with its Gap.
//
// # Credentials and TLS
//
// Options name a creds file, an nkey seed file, or a user with a password
// (the CLI reads the password from an environment variable); a CA file
// makes the connection TLS with those roots. A URL with user information
// is refused, and no secret appears in an error or a log line: errors
// print the URL without user information (Redact).
//
// # When the server is away
//
// The connection reconnects forever. Append fails meanwhile, and the
// caller keeps the events: the Bus of an owner retries with backoff and
// spools what it still holds when it exits, and a sidecar's Forwarder
// spools to disk; what they send again is stored once (ids). Followers
// retry their reads with backoff.
package natsjs
