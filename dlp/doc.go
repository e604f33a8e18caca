// Package dlp finds secrets in outbound data: the detectors that the egress
// proxy applies to every request a bottle sends, and that the git gate
// applies to the commits a bottle pushes.
//
// Three kinds of secret are found:
//   - known values: the proxy's own tokens and the host environment's
//     secret-looking values the bottle was not given (Values). They are
//     found raw, as hex (any case), as base64 (standard and URL alphabets,
//     whatever their alignment, with or without line breaks) and, through
//     Views, percent-, JSON- and doubly-escaped;
//   - well-known credential patterns: gitleaks' default rule set
//     (Rules), applied with its keywords, entropy thresholds and
//     allowlists, to the data as sent and to its decoded views;
//   - the same, inside request bodies a server would decode first:
//     Content-Encoding gzip, deflate, br and zstd, stacked, decoded within a
//     bound (Decode).
//
// A Finding names its rule and where it lies; nothing in this package puts
// a secret value in an error, a log line or a String result. The package
// sits in the core beside schemas: it imports nothing of the project, so
// the standalone proxy and the git gate can both use it.
package dlp
