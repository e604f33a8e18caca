package launcher_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// BenchmarkListManyRecorded is `ps` and bottle_list on a store that
// records 1,000 running bottles (owned by this process) and 5,000 ended
// ones: ns/op is one List of the running ones, and list-all-ms one List of
// all of them.
//
//	go test -run '^$' -bench ListManyRecorded ./launcher/
func BenchmarkListManyRecorded(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), sqlite.FileName), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	self := launcher.Self()
	var evs []schemas.Event
	add := func(id, state string) {
		code := 0
		lc := schemas.Lifecycle{State: state, Name: "demo", Backend: "local", Owner: self.PID, OwnerStart: self.Start,
			RunDir: "/run/bb/" + id, Workdir: "/w/" + id}
		if schemas.TerminalState(state) {
			lc.ExitCode = &code
		}
		ev, err := schemas.NewEvent(id, schemas.KindLifecycle, lc)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	for i := range 5000 {
		add(fmt.Sprintf("demo-e%05d", i), schemas.StateRunning)
		add(fmt.Sprintf("demo-e%05d", i), schemas.StateExited)
	}
	for i := range 1000 {
		add(fmt.Sprintf("demo-r%05d", i), schemas.StateRunning)
	}
	for len(evs) > 0 {
		n := min(len(evs), 500)
		if _, err := store.Append(ctx, evs[:n]); err != nil {
			b.Fatal(err)
		}
		evs = evs[n:]
	}
	b.ResetTimer()
	for range b.N {
		list, err := launcher.ListRegistry(ctx, store, false)
		if err != nil || len(list) != 1000 {
			b.Fatalf("list: %d bottles, %v", len(list), err)
		}
	}
}
