package events_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/testfs"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The disk that holds the store fills up while a bottle runs and is still
// full when its owner exits: the store refuses every append (SQLITE_FULL),
// and Close writes what it holds into the disk space its spool reserved
// when the bus started. Once there is room again, the next process
// delivers all of it. Without the reserve the same events are lost, and
// Close says so.
func TestBusSpoolsIntoItsReserveOnAFullDisk(t *testing.T) {
	for _, reserve := range []int64{1 << 20, 0} {
		t.Run(map[bool]string{true: "reserved", false: "no-reserve"}[reserve > 0], func(t *testing.T) {
			disk := testfs.Small(t, 4<<20)
			path := filepath.Join(disk, sqlite.FileName)
			s, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			root := filepath.Join(disk, "spool")
			b := events.NewBus(s, events.BusOptions{Logger: quietLogger(), SpoolDir: filepath.Join(root, "42-42"), SpoolReserve: reserve})
			b.Publish(storetest.Event(t, "a", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning}))
			if err := b.Flush(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			free := testfs.Fill(t, disk)
			const denials = 500
			for range denials {
				b.Publish(storetest.Event(t, "a", schemas.KindDenial, schemas.Denial{ID: "d", Host: "x.example", Path: "/some/path/of/a/denied/request"}))
			}
			b.Publish(storetest.Event(t, "a", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateExited}))
			time.Sleep(100 * time.Millisecond) // let the writer meet the full disk
			err = b.Close(testCtx(t))
			t.Log(err)
			var unstored *events.UnstoredError
			if !errors.As(err, &unstored) || !errors.Is(err, sqlite.ErrFull) {
				t.Fatalf("close on a full disk: %v, want an UnstoredError for a full disk", err)
			}
			if reserve == 0 {
				if unstored.Lost == 0 {
					t.Fatalf("without a reserve on a full disk, %d events were spooled; the test does not fill the disk", unstored.Spooled)
				}
				return
			}
			if unstored.Spooled != denials+1 || unstored.Lost != 0 {
				t.Fatalf("spooled %d, lost %d; want all %d spooled", unstored.Spooled, unstored.Lost, denials+1)
			}
			free()
			n, err := events.DeliverSpools(testCtx(t), s, root)
			if err != nil || n != denials+1 {
				t.Fatalf("deliver after the disk was freed: %d, %v", n, err)
			}
			all, _ := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 0)
			var lc schemas.Lifecycle
			if len(all) != denials+2 || all[len(all)-1].Decode(&lc) != nil || lc.State != schemas.StateExited || lc.Spooled != denials+1 {
				t.Fatalf("store holds %d events of a, the last %+v; want %d ending with exited, spooled %d", len(all), lc, denials+2, denials+1)
			}
		})
	}
}
