// Package cli is the bot-bottle command line: the cobra commands, their
// flags, and the wiring that hands each command's work to the package that
// owns it (planner, launcher, egressproxy, events, review, mcp, hostconfig).
// It holds no logic of its own beyond parsing, wiring and rendering; the
// entry point in the module root only calls Run.
package cli
