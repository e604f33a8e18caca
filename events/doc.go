// Package events is the shared event channel: the one path by which denials,
// proposals, decisions, route reloads and bottle lifecycle changes travel
// between the parts of bot-bottle and between bot-bottle processes.
//
// Producers (the egress proxy, the launcher, review) hand events to a
// Publisher, which never blocks them. The channel is implemented by an
// in-process bus in front of a durable store, through which processes on one
// machine share events and can replay them.
package events
