// Command bottleclient is the tests' HTTP client inside a bottle whose image
// has no curl (the FROM-scratch default image): a static Go binary that
// trusts SSL_CERT_FILE and goes through HTTPS_PROXY like any well-behaved
// program, and can also speak CONNECT by hand or dial an address directly.
//
//	bottleclient get URL        GET through the environment's proxy
//	bottleclient connect H:P    CONNECT H:P on $HTTPS_PROXY, print the answer
//	bottleclient dial ADDR      a direct TCP connect, no proxy
//	bottleclient posts URL FILE N
//	                            POST the file N times in turn, printing
//	                            "post I status=S reason=R" for each
//	bottleclient download URL N
//	                            GET the URL N times over one keep-alive
//	                            connection, printing "bytes=B seconds=S"
//	bottleclient requests URL N C
//	                            N GETs from C workers, keep-alive, printing
//	                            "requests=N seconds=S"
//	bottleclient remediate DIR HOST...
//	                            the remediation loop seen from inside: for
//	                            each HOST, be denied, wait for DIR/approved-HOST,
//	                            retry, and reuse a keep-alive connection to
//	                            allowed.test opened before every reload
//	bottleclient ask HOST FILE PATH
//	                            be denied HOST's PATH, then ask for HOST on the
//	                            bottle's agent surface with FILE's text as the
//	                            justification (ask.go)
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 3 && os.Args[1] == "remediate" {
		if err := remediate(os.Args[2], os.Args[3:]); err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "ask" {
		if err := ask(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) >= 4 && (os.Args[1] == "download" || os.Args[1] == "requests") {
		if err := throughput(os.Args[1], os.Args[2:]); err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "posts" {
		if err := posts(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bottleclient get URL | connect HOST:PORT | dial ADDR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "get":
		err = get(os.Args[2])
	case "connect":
		err = connect(os.Args[2])
	case "dial":
		err = dial(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(1)
	}
}

func get(u string) error {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	fmt.Printf("status=%d\n%s\n", resp.StatusCode, body)
	return err
}

func connect(hostPort string) error {
	pu, err := url.Parse(os.Getenv("HTTPS_PROXY"))
	if err != nil || pu.Host == "" {
		return fmt.Errorf("HTTPS_PROXY %q: %v", os.Getenv("HTTPS_PROXY"), err)
	}
	conn, err := net.DialTimeout("tcp", pu.Host, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hostPort, hostPort)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, err := io.ReadAll(resp.Body)
		fmt.Printf("status=%d\n%s\n", resp.StatusCode, body)
		return err
	}
	// The proxy answers a refused CONNECT inside the tunnel, where a
	// client can read it: speak TLS (trusting the bottle's CA through
	// SSL_CERT_FILE) and ask.
	host, _, _ := net.SplitHostPort(hostPort)
	tc := tls.Client(&readerConn{Conn: conn, r: br}, &tls.Config{ServerName: host})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", hostPort)
	inner, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return err
	}
	defer inner.Body.Close()
	body, err := io.ReadAll(inner.Body)
	fmt.Printf("status=%d\n%s\n", inner.StatusCode, body)
	return err
}

// readerConn reads what the CONNECT answer's reader has buffered first.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	fmt.Println("dial-ok")
	return nil
}

// remediate prints, for each host, "denied HOST STATUS DENIAL-ID", waits
// for the test to create DIR/approved-HOST, then prints "retry HOST STATUS"
// and "keepalive reused=BOOL status=N" for a request to allowed.test on the
// connection opened before the first denial.
func remediate(dir string, hosts []string) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 1}}
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
	fetch := func(u string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Bot-Bottle-Denial"), nil
	}
	if status, _, err := fetch("https://allowed.test/open"); err != nil || status != 200 {
		return fmt.Errorf("open the keep-alive connection: %d %v", status, err)
	}
	fmt.Println("ready")
	for _, h := range hosts {
		status, denial, err := fetch("https://" + h + "/simple/x")
		if err != nil {
			return err
		}
		fmt.Printf("denied %s %d %s\n", h, status, denial)
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(dir + "/approved-" + h); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no approval for %s", h)
			}
		}
		if status, _, err = fetch("https://" + h + "/simple/x"); err != nil {
			return err
		}
		fmt.Printf("retry %s %d\n", h, status)
		if status, _, err = fetch("https://allowed.test/keepalive"); err != nil {
			return err
		}
		fmt.Printf("keepalive reused=%t status=%d\n", reused, status)
	}
	fmt.Println("done")
	return nil
}

// posts sends the file's bytes as a JSON POST n times, one after the other,
// and prints each answer's status and denial reason (if any).
func posts(u, file, n string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var count int
	if _, err := fmt.Sscan(n, &count); err != nil {
		return err
	}
	c := &http.Client{Timeout: 5 * time.Minute}
	for i := range count {
		resp, err := c.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		var den struct {
			Reason string `json:"reason"`
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(b, &den)
		fmt.Printf("post %d status=%d reason=%s\n", i, resp.StatusCode, den.Reason)
	}
	return nil
}

// throughput measures the proxy from inside: download fetches a large body
// n times (bytes per second), requests makes n small requests from c
// workers (requests per second). Every request goes through HTTPS_PROXY,
// keep-alive, as an agent's HTTP client would.
func throughput(mode string, args []string) error {
	var n, c int
	if _, err := fmt.Sscan(args[1], &n); err != nil {
		return err
	}
	c = 1
	if mode == "requests" && len(args) > 2 {
		if _, err := fmt.Sscan(args[2], &c); err != nil {
			return err
		}
	}
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: c}}
	fetch := func() (int64, error) {
		resp, err := client.Get(args[0])
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return io.Copy(io.Discard, resp.Body)
	}
	if _, err := fetch(); err != nil { // the tunnel and TLS, outside the timing
		return err
	}
	start := time.Now()
	jobs := make(chan struct{})
	errs := make(chan error, c)
	total := make(chan int64, c)
	for w := 0; w < c; w++ {
		go func() {
			var sum int64
			for range jobs {
				got, err := fetch()
				if err != nil {
					errs <- err
					for range jobs {
					}
					total <- sum
					return
				}
				sum += got
			}
			errs <- nil
			total <- sum
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	var bytes int64
	var firstErr error
	for w := 0; w < c; w++ {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
		bytes += <-total
	}
	took := time.Since(start).Seconds()
	if firstErr != nil {
		return firstErr
	}
	if mode == "download" {
		fmt.Printf("bytes=%d seconds=%f\n", bytes, took)
	} else {
		fmt.Printf("requests=%d seconds=%f\n", n, took)
	}
	return nil
}
