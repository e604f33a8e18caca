package egressproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// A TLS 1.3 server that does not like the client's key shares answers the
// first ClientHello with a HelloRetryRequest, and the client sends a second
// ClientHello, in the clear like the first. RFC 8446 4.1.2 says it must
// name the same server, but an edge that does not check would serve the
// second one's name: a client could pass the proxy's check with the first
// hello and front with the second. So the relay of a passthrough tunnel
// reads the server's first handshake message, and when it is a
// HelloRetryRequest checks the client's next ClientHello like the first.
// Once the server has answered with a real ServerHello (or anything else),
// both directions are plain copies.

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446 4.1.3).
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// serverHelloHead is how much of the server's first handshake data tells a
// HelloRetryRequest: type, length, version and the random.
const serverHelloHead = 4 + 2 + 32

// readServerFirst reads the server's first records until they show whether
// its first handshake message is a HelloRetryRequest, and returns the bytes
// read (to pass on) and the answer. Anything unexpected is "no": the
// client side then stops looking, and the server's bytes go on as they are.
func readServerFirst(r io.Reader) (raw []byte, hrr bool, err error) {
	var hs []byte
	for len(hs) < serverHelloHead {
		var hdr [recordHeaderLen]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return raw, false, err
		}
		raw = append(raw, hdr[:]...)
		n := int(hdr[3])<<8 | int(hdr[4])
		start := len(raw)
		raw = append(raw, make([]byte, n)...)
		if m, err := io.ReadFull(r, raw[start:]); err != nil {
			return raw[:start+m], false, err
		}
		if hdr[0] != recordTypeHandshake {
			return raw, false, nil
		}
		hs = append(hs, raw[start:]...)
	}
	return raw, hs[0] == 2 && bytes.Equal(hs[6:serverHelloHead], helloRetryRandom), nil
}

// relayPassthrough relays an admitted passthrough tunnel whose first
// ClientHello has gone upstream, checking a second ClientHello if the
// server asks for one. A refused second hello is recorded and ends the
// tunnel before any of it leaves.
func (p *Proxy) relayPassthrough(client, up net.Conn, t *tunnel, d Decision) {
	verdict := make(chan bool, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // upstream to client
		defer wg.Done()
		// A server that never answers must not hold the client side,
		// which may be waiting for this verdict, past the response timeout.
		_ = up.SetReadDeadline(time.Now().Add(p.lim.ResponseTimeout))
		raw, hrr, err := readServerFirst(up)
		_ = up.SetReadDeadline(time.Time{})
		verdict <- hrr && err == nil
		if len(raw) > 0 {
			if _, werr := client.Write(raw); werr != nil && err == nil {
				err = werr
			}
		}
		if err == nil {
			err = copyErr(client, up)
		}
		halfClose(client, err)
	}()
	halfClose(up, p.watchClient(client, up, t, d, verdict))
	wg.Wait()
}

// watchClient copies the client's records upstream. Until the server's
// first answer is known it goes record by record; a handshake record then
// waits for it: after a HelloRetryRequest it must hold the second
// ClientHello, checked like the first. Then it is a plain copy.
func (p *Proxy) watchClient(client, up net.Conn, t *tunnel, d Decision, verdict <-chan bool) error {
	br := bufio.NewReader(client)
	got, hrr := false, false
	wait := func(block bool) {
		switch {
		case got:
		case block:
			hrr, got = <-verdict, true
		default:
			select {
			case hrr = <-verdict:
				got = true
			default:
			}
		}
	}
	for {
		hdr, err := br.Peek(recordHeaderLen)
		if err != nil {
			return finishCopy(up, br, err)
		}
		if hdr[0] == recordTypeHandshake {
			if wait(true); hrr {
				if err := p.checkSecondHello(br, up, t, d); err != nil {
					_ = client.Close()
					return err
				}
			}
			break
		}
		n := recordHeaderLen + (int(hdr[3])<<8 | int(hdr[4]))
		if _, err := io.CopyN(up, br, int64(n)); err != nil {
			return err
		}
		if wait(false); got && !hrr {
			break
		}
	}
	return finishCopy(up, br, nil)
}

// checkSecondHello reads the ClientHello that answers a HelloRetryRequest
// and sends it on if it passes the check the first one passed.
func (p *Proxy) checkSecondHello(br *bufio.Reader, up net.Conn, t *tunnel, d Decision) error {
	raw, msg, err := readClientHello(br)
	var info helloInfo
	if err == nil {
		info, err = parseClientHello(msg)
	}
	if reason := p.checkHello(t, info, err); reason != ReasonAllowed {
		p.record(deny(d, reason))
		return errHelloRefused
	}
	_, err = up.Write(raw)
	return err
}

// finishCopy copies what is left of the client's stream upstream; err is
// the error that stopped the record reader, if any.
func finishCopy(up net.Conn, br *bufio.Reader, err error) error {
	_, werr := br.WriteTo(up)
	if err == nil || err == io.EOF {
		return werr
	}
	return err
}

var errHelloRefused = errors.New("second ClientHello refused")
