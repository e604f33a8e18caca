// Package sqlite implements events.Store on a SQLite file
// ($BOT_BOTTLE_HOME/state.db) through modernc.org/sqlite, pure Go, so the
// binary stays static.
//
// Several bot-bottle processes open the same file at once: WAL mode lets
// readers run beside the one writer. Writers queue: each write transaction
// (BEGIN IMMEDIATE, so it never has to upgrade a read lock and deadlock)
// is taken only after an exclusive flock on state.db-lock, so a writer
// sleeps in the kernel until the one before it commits, and is woken at
// once. SQLite's busy_timeout alone is a poll (sleep 1..100 ms, try again):
// with a hundred parallel launches on two cores, half of them lost every
// race for five seconds and failed with "database is locked". BusyTimeout
// now bounds only the wait behind a writer that does not finish (stopped,
// or a foreign process holding SQLite's lock), and the error names it.
// Opening a store that is up to date writes nothing. Every pragma is in
// the DSN, so every pooled connection has it. Each Store keeps two pools:
// one connection for writes, several for reads.
//
// Sequence numbers are assigned inside the write transaction from the
// bottles table, so they are gapless per bottle whichever process writes.
// Pos is the events table's AUTOINCREMENT rowid: never reused after
// retention deletes, and increasing in commit order, because SQLite runs one
// write transaction at a time.
//
// Followers are woken by a doorbell: state.db-bell beside the database.
// After each commit the writer increments a 32-bit word in a shared
// mapping of that file and wakes every futex waiter on it (FUTEX_WAKE,
// not private: the kernel keys a shared futex by the file's inode, so the
// waiters of every process meet). Each open Store has one goroutine that
// sleeps on the word (FUTEX_WAIT) and wakes the store's followers. The
// ring comes after the commit, so a woken follower always finds what woke
// it; watching the WAL instead would wake followers before the commit is
// visible. A futex has no per-user limit: the inotify watch it replaced
// did (128 instances per user on Debian, one per process), so past about
// 128 `launch` owners the rest read the bell every 50ms, an idle cost
// that grew with the number of bottles. The file's first 8 bytes are
// still the time of the last ring, written by pwrite, which is what an
// older process still running through an upgrade watches (inotify) or
// reads; the waiter looks at them too when its 10s wait times out, for
// the rings of older writers. A file too short (an older one) is grown
// under a flock, never shrunk. Where the file cannot be mapped or the
// futex used, one goroutine per process reads the bell every 50ms
// instead, a pread, not a query per follower. A slow poll
// (Options.PollInterval) is the safety net for a missed ring. A follower
// of one bottle (an owner's stop watcher, a review owner) is not woken by
// every commit: one reader per Store, the tail, reads which bottles each
// commit touched and wakes only their followers, and polls for them all
// (tail.go). Across processes the bell says which bottles too: in the
// writers' turn, after the commit and before the ring, the writer puts a
// hash of each bottle the commit added events to in the next of 256 slots
// of the file and then advances their count; a process's waiter reads the
// slots written since its last wake and wakes its followers only when it
// follows one of those bottles (or follows every bottle, or more slots
// were written than it can tell apart, or an older writer rang). With a
// thousand `launch` owners, every commit used to wake each of them into a
// query: a ramp was O(N^2) queries.
//
// Query reads one of four indexes, each starting with kind and ending with
// time_ns and pos (the rowid): (kind), (kind, bottle), (kind, host) and
// (kind, bottle, host), the host ones partial (only events that have a
// host). It names the index (INDEXED BY): without statistics SQLite takes
// a range of time for as selective as a bottle and may pick the wrong one;
// a test reads the plan of every filter shape.
//
// Retention keeps the newest Retain events per bottle. A background
// goroutine deletes older ones in small transactions so a writer waits at
// most one small delete, and records in the bottles table how far each
// bottle was pruned, so a reader behind that point is told (events.Gap).
package sqlite
