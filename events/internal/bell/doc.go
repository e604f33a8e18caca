// Package bell is a broadcast wake-up: any number of goroutines wait for the
// next Ring, and a Ring never blocks the one who rings. The store rings it
// after a commit, the bus after a batch; followers and flushers wait on it.
package bell
