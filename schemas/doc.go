// Package schemas holds the data shapes every other bot-bottle package speaks:
// the bottle manifest and its routes, the plan, the routes file handed to the
// egress proxy, and the events that travel on the shared channel.
//
// It sits at the very start of the data path (manifest -> plan -> proxy
// decision -> event -> review -> reload) and imports nothing from the
// project. Decoding is strict: a manifest is parsed into a yaml.Node tree and
// walked against the Go types, so every problem is reported at once with its
// file:line:col, the dotted key it is about and, for unknown keys, a "did you
// mean" hint. The JSON Schemas embedded here describe the same shapes for
// editors and for programs that read `bot-bottle plan --json`.
package schemas
