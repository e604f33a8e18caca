package egressproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// readUntilClosed reads c until the proxy closes it, failing if it does not
// within a generous bound.
func readUntilClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the proxy did not close the connection")
	}
}

func TestHeadLimits(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Limits.MaxHeaderBytes = 8 << 10 })
	huge := "X-Big: " + strings.Repeat("a", 200<<10) + "\r\n"
	// Plain http: net/http answers 431.
	resp, _ := f.rawPlain("GET http://plain.allowed.test/ HTTP/1.1\r\nHost: plain.allowed.test\r\n" + huge + "\r\n")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("plain: %d", resp.StatusCode)
	}
	// Inside a MITM'd tunnel the proxy closes the connection.
	tc, _, err := f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	go io.WriteString(tc, "GET / HTTP/1.1\r\nHost: open.allowed.test\r\n"+huge+"\r\n")
	readUntilClosed(t, tc)
	// A head of normal size after a response is fine, many times over.
	tc, br, err := f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		fmt.Fprintf(tc, "GET /%d HTTP/1.1\r\nHost: open.allowed.test\r\nX-Pad: %s\r\n\r\n", i, strings.Repeat("p", 6<<10))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d on a kept-alive tunnel: %v %v", i, err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := len(f.up.seen()); n != 50 {
		t.Fatalf("upstream saw %d requests", n)
	}
}

func TestIdleAndSlowConnectionsAreClosed(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) {
		c.Limits.IdleTimeout = 200 * time.Millisecond
		c.Limits.ReadHeaderTimeout = 200 * time.Millisecond
	})
	// An idle MITM'd tunnel after a request.
	tc, br, err := f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	readUntilClosed(t, tc)
	// A head that never ends.
	tc, _, err = f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: open.allowed.test\r\n")
	readUntilClosed(t, tc)
	// An idle passthrough tunnel.
	c, err := net.Dial("tcp", f.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT pass.allowed.test:443 HTTP/1.1\r\nHost: pass.allowed.test:443\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("passthrough CONNECT: %v %v", err, resp)
	}
	readUntilClosed(t, c)
}

func TestMaxConns(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Limits.MaxConns = 2 })
	var held []net.Conn
	for range 2 {
		tc, _, err := f.mitm("open.allowed.test:443", "open.allowed.test")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tc)
	}
	third, err := net.Dial("tcp", f.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	fmt.Fprintf(third, "CONNECT open.allowed.test:443 HTTP/1.1\r\nHost: open.allowed.test:443\r\n\r\n")
	br := bufio.NewReader(third)
	_ = third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.Peek(1); err == nil {
		t.Fatal("a third connection was served while two were open")
	}
	held[0].Close()
	_ = third.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third connection after one closed: %v %v", err, resp)
	}
}

// Shutdown lets a request in flight finish, then returns.
func TestShutdownCompletesInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	f := newFixture(t, defaultRoutes)
	f.up.srv.Config.Handler.(*http.ServeMux).HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, b, err := f.do("GET", "https://open.allowed.test/hold", nil, nil)
		if err != nil {
			got <- result{err: err}
			return
		}
		got <- result{resp.StatusCode, string(b), nil}
	}()
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- f.proxy.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, _, err := f.do("GET", "https://open.allowed.test/x", nil, nil); err == nil {
		t.Fatal("served after Shutdown")
	}
}

// A refused upload is not read to its end: the proxy answers and closes
// the tunnel instead of draining what it will never forward.
func TestRefusedUploadIsNotDrained(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	tc, br, err := f.mitm("api.allowed.test:443", "api.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	// Announce 1 GiB, send a little, then stop: a draining proxy would wait.
	io.WriteString(tc, "POST /secret HTTP/1.1\r\nHost: api.allowed.test\r\nContent-Length: 1073741824\r\n\r\n"+strings.Repeat("x", 1000))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	wantReason(t, resp, b, ReasonPathNotAllowed)
	readUntilClosed(t, tc)
}
