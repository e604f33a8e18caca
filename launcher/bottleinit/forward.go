package bottleinit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// forwarder relays every TCP connection accepted on a loopback port to a
// unix socket. It is how a process in a bottle with no network reaches the
// owner's egress proxy and agent surface: a unix socket is found by path,
// so it crosses the network namespace that nothing else can.
type forwarder struct {
	ln     net.Listener
	socket string
}

// listenForward binds 127.0.0.1:port. Binding happens before the command
// starts, so its first request finds the port open.
func listenForward(f Forward) (*forwarder, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Port)))
	if err != nil {
		return nil, fmt.Errorf("forward 127.0.0.1:%d: %w", f.Port, err)
	}
	socket := f.Socket
	if f.FD > 0 {
		socket = "/proc/self/fd/" + strconv.Itoa(f.FD)
	}
	return &forwarder{ln: ln, socket: socket}, nil
}

// serve accepts until the listener is closed.
func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go f.relay(c)
	}
}

func (f *forwarder) relay(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("unix", f.socket)
	if err != nil {
		// Nothing to answer with: the client sees the connection close,
		// as it would if the proxy had gone away.
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pipe(up, c)
	}()
	pipe(c, up)
	wg.Wait()
}

// pipe copies src to dst and then half-closes dst, so a client that shuts
// down its write side (HTTP/1.0, CONNECT tunnels) is seen by the far end.
//
// The copy goes through a buffer of its own, never splice(2): io.Copy
// between a TCP and a unix socket splices in the kernel, and under gVisor
// (runsc) that corrupted large transfers (TLS "bad record MAC" a few
// megabytes into a download through the proxy).
func pipe(dst, src net.Conn) {
	buf := make([]byte, 64<<10)
	_, _ = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
}
