// Package storetest is the contract of events.Store as a test suite: every
// implementation (events/sqlite today, a distributed log tomorrow) runs it,
// so callers can rely on the same behaviour from each.
package storetest
