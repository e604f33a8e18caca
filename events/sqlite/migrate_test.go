package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A store written by a bot-bottle of schema version 1 (no host column, no
// Query indexes) opens with its denials and proposals findable by host,
// spelled as the producer spelled it.
func TestMigrationFillsInTheHostOfOldEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0] + "; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		kind    schemas.Kind
		payload any
	}{
		{schemas.KindDenial, schemas.Denial{ID: "d1", Host: "API.Example.COM.", Method: "GET", Path: "/"}},
		{schemas.KindProposal, schemas.Proposal{ID: "p1", Host: "api.example.com"}},
		{schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning}},
		{schemas.KindDenial, schemas.Denial{ID: "d2", Host: "other.example"}},
	}
	t0 := time.Now().UTC()
	for i, r := range rows {
		ev, err := schemas.NewEvent("old", r.kind, r.payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO events (id, bottle, seq, time_ns, kind, payload) VALUES (?, ?, ?, ?, ?, ?)",
			ev.ID, ev.Bottle, i+1, t0.Add(time.Duration(i)).UnixNano(), string(ev.Kind), []byte(ev.Payload)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO bottles (bottle, last_seq) VALUES ('old', ?)", len(rows)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.Query(context.Background(), events.Filter{Kinds: events.HostKinds, Host: "api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range m.Events {
		got = append(got, fmt.Sprintf("%s#%d", ev.Kind, ev.Seq))
	}
	if fmt.Sprint(got) != "[review.proposal#2 egress.denial#1]" {
		t.Fatalf("events about api.example.com after the migration: %v, want the proposal and the first denial", got)
	}
	stored, err := s.Append(context.Background(), []schemas.Event{{ID: "new", Bottle: "old", Kind: schemas.KindDenial, Payload: []byte(`{"host":"other.example"}`)}})
	if err != nil || stored[0].Seq != 5 {
		t.Fatalf("append after the migration: %+v, %v", stored, err)
	}
}
