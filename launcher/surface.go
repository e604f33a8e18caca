package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

type bottleIDKey struct{}

// BottleID returns the id of the bottle whose agent-surface socket a
// request arrived on. An agent surface knows its bottle from the socket it
// was reached on, never from anything the agent sends.
func BottleID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(bottleIDKey{}).(string)
	return id, ok
}

// unavailableSurface answers every request while no agent surface is
// configured, so a program in the bottle gets a clear answer rather than a
// connection error.
var unavailableSurface = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error": "agent surface not available",
		"hint":  "this bottle's owner serves no MCP agent surface; run the bottle from `bot-bottle serve` to get one",
	})
})

// serveSurface serves h on the bottle's MCP socket, with the bottle id in
// every request's context.
func serveSurface(path, id string, h http.Handler) (*http.Server, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("agent surface: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent surface: %w", err)
	}
	if h == nil {
		h = unavailableSurface
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(context.Background(), bottleIDKey{}, id) },
	}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
