package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// UnixScheme prefixes a control plane endpoint on a unix socket:
// "unix:/home/u/.bot-bottle/run/control.sock".
const UnixScheme = "unix:"

// newPoster returns the function that sends a batch to endpoint and returns
// the control plane's answer. Only unix sockets are accepted: the control
// plane is never reached over a network, and file permissions say who may
// reach it. The client ignores HTTP(S)_PROXY: a sidecar's environment may
// well have one, and the control plane is not behind it.
func newPoster(endpoint string) (func(context.Context, []schemas.Event) (BatchResult, error), error) {
	path, ok := strings.CutPrefix(endpoint, UnixScheme)
	if !ok || path == "" {
		return nil, fmt.Errorf("control plane endpoint %q: want %s/path/to/control.sock", endpoint, UnixScheme)
	}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			MaxIdleConns:    1,
			IdleConnTimeout: time.Minute,
		},
		Timeout: 30 * time.Second,
	}
	return func(ctx context.Context, evs []schemas.Event) (BatchResult, error) {
		body, err := json.Marshal(Batch{Events: evs})
		if err != nil {
			return BatchResult{}, fmt.Errorf("encode batch: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://control-plane"+EventsPath, bytes.NewReader(body))
		if err != nil {
			return BatchResult{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return BatchResult{}, fmt.Errorf("deliver to %s: %w", endpoint, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			return BatchResult{}, &statusError{endpoint: endpoint, code: resp.StatusCode, status: resp.Status, msg: string(bytes.TrimSpace(msg))}
		}
		var res BatchResult
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return BatchResult{}, fmt.Errorf("deliver to %s: read answer: %w", endpoint, err)
		}
		return res, nil
	}, nil
}

// ListenControl listens on the unix socket at path for sidecars, readable
// and writable only by its owner. A socket left by a control plane that
// died is replaced; one that still answers is an error, since two control
// planes cannot share it.
func ListenControl(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen on %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: another control plane is listening there", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("listen on %s: remove stale socket: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

// statusError is a control plane's refusal of a batch.
type statusError struct {
	endpoint, status, msg string
	code                  int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("deliver to %s: %s: %s", e.endpoint, e.status, e.msg)
}

// permanent reports whether sending the same batch again will be refused
// again: a client error, other than a timeout or a rate limit.
func (e *statusError) permanent() bool {
	return e.code >= 400 && e.code < 500 && e.code != http.StatusRequestTimeout && e.code != http.StatusTooManyRequests
}

// ServeControl is the control plane: it serves NewHandler(store, opts) on l
// until ctx ends, then stops taking batches and lets the ones in flight be
// stored (for at most drain), so a sidecar is never answered for a batch
// that was not committed.
func ServeControl(ctx context.Context, l net.Listener, store Store, opts HandlerOptions, drain time.Duration) error {
	srv := &http.Server{
		Handler:           NewHandler(store, opts),
		ReadHeaderTimeout: 10 * time.Second,
	}
	if opts.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("control plane: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("control plane: shut down: %w", err)
	}
	return nil
}
