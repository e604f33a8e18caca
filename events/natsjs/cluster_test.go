package natsjs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestClusterNodeLoss runs the channel on a three-node JetStream cluster
// (three replicas) and stops one node while two writers publish through
// their buses and a follower follows: every event is stored once, seqs
// stay gapless, and the follower receives each once.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster is not short")
	}
	cl := natstest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	openOn := func() *natsjs.Store {
		t.Helper()
		var s *natsjs.Store
		var err error
		for try := 0; try < 100; try++ { // until the cluster has elected its meta leader
			if s, err = natsjs.Open(ctx, natsjs.Options{URL: cl.URL(), Replicas: 3, Poll: 200 * time.Millisecond}); err == nil {
				t.Cleanup(func() { s.Close() })
				return s
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("open on the cluster: %v", err)
		return nil
	}
	writers := []*natsjs.Store{openOn(), openOn()}
	reader := openOn()
	leader := streamLeader(t, cl)

	var mu sync.Mutex
	seen := map[string]int{}
	fctx, stopFollow := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() {
		followed <- reader.Follow(fctx, events.Cursor{}, func(p events.Page) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range p.Events {
				seen[ev.ID]++
			}
			return nil
		})
	}()

	const perWriter = 150
	var wg sync.WaitGroup
	for w, s := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bus := events.NewBus(s, events.BusOptions{})
			for i := range perWriter {
				bus.Publish(storetest.Event(t, fmt.Sprintf("c%d", i%3), schemas.KindDenial, fmt.Sprint(w, "-", i)))
				if i == perWriter/2 && w == 0 {
					cl.Servers[leader].Stop() // the stream's leader dies mid-run
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := bus.Flush(ctx); err != nil {
				t.Errorf("writer %d: flush: %v", w, err)
			}
			bus.Close(ctx)
		}()
	}
	wg.Wait()

	want := len(writers) * perWriter
	var all []schemas.Event
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		// A replica answering a direct get may lag the leader a moment.
		all, _ = storetest.ReadAll(t, reader, events.Cursor{}, 0)
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if len(all) >= want && n >= want || time.Now().After(deadline) {
			break
		}
	}
	if len(all) != want {
		t.Fatalf("the cluster holds %d events, want %d", len(all), want)
	}
	storetest.CheckGapless(t, all)
	stopFollow()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Errorf("follower: %v", err)
	}
	for _, ev := range all {
		if seen[ev.ID] != 1 {
			t.Errorf("the follower received %s %d times", ev.ID, seen[ev.ID])
		}
	}
}

// streamLeader returns the index of the node that leads the events
// stream, asked of the cluster with a plain NATS client.
func streamLeader(t *testing.T, cl *natstest.Cluster) int {
	t.Helper()
	js := rawJetStream(t, cl.URL())
	st, err := js.Stream(context.Background(), "BOTBOTTLE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil || info.Cluster == nil {
		t.Fatalf("stream info: %+v, %v", info, err)
	}
	var i int
	if _, err := fmt.Sscanf(info.Cluster.Leader, "bb-node-%d", &i); err != nil {
		t.Fatalf("leader %q: %v", info.Cluster.Leader, err)
	}
	return i
}
