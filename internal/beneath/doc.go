// Package beneath reads files and folder trees from a place bot-bottle does
// not trust (a cloned repository's .bot-bottle folder) without ever leaving
// it: every path is resolved beneath an open folder with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a symlink anywhere on the way,
// a "..", or a folder swapped for a link between two reads, is refused
// rather than followed to a host file such as ~/.ssh/id_ed25519.
//
// Only regular files and folders are read; fifos, sockets and devices are
// refused (a fifo is opened non-blocking, so it cannot stall the host),
// names with control, invisible or bidi characters are refused, and every
// read is bounded: per file, per tree and in the number of entries and
// folder depth. A hard-linked file can be refused too: a checkout never
// makes one, and a link to a host file would otherwise read as a plain
// file.
//
// The package reads and returns bytes; it never executes or interprets
// them. It needs Linux 5.6 or later (openat2); elsewhere every call fails
// closed with ErrUnsupported.
package beneath
