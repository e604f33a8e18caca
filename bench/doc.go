// Package bench holds load harnesses that measure bot-bottle's moving parts
// on loopback. They are programs (go run ./bench/...), not tests: their
// numbers are for people, and absolute timings never gate a build.
package bench
