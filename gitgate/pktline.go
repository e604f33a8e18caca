package gitgate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// git's pkt-line framing: four hex digits of length (including
// themselves), then the payload; 0000 is a flush.

// maxPktLen is the largest pkt-line git sends (LARGE_PACKET_MAX).
const maxPktLen = 65520

// errFlush is what readPkt returns for a flush packet.
var errFlush = errors.New("flush")

// readPkt reads one pkt-line's payload; a flush is errFlush.
func readPkt(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return nil, fmt.Errorf("bad pkt-line length %q", hdr[:])
	}
	switch {
	case n == 0:
		return nil, errFlush
	case n < 4 || n > maxPktLen:
		return nil, fmt.Errorf("bad pkt-line length %d", n)
	}
	buf := make([]byte, n-4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// pkt frames payload as a pkt-line. Payloads longer than a pkt-line are
// the caller's bug.
func pkt(payload []byte) []byte {
	out := make([]byte, 0, len(payload)+4)
	out = fmt.Appendf(out, "%04x", len(payload)+4)
	return append(out, payload...)
}

// pktString is pkt for a string.
func pktString(s string) []byte { return pkt([]byte(s)) }

// flushPkt is the flush packet.
var flushPkt = []byte("0000")
