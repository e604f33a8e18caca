package egressproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// WebSocket frame layout (RFC 6455 5.2), as far as the relay needs it.
const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xa

	wsMaxControlPayload = 125
	wsMaxHeaderLen      = 14 // 2 + 8 (64-bit length) + 4 (masking key)
)

// Close status codes (RFC 6455 7.4.1).
const (
	wsStatusProtocolError   = 1002
	wsStatusPolicyViolation = 1008
)

// errFrame reports a frame the relay will not pass on.
var errFrame = errors.New("bad websocket frame")

// wsHeader is one frame's header.
type wsHeader struct {
	fin    bool
	opcode byte
	masked bool
	key    [4]byte
	length uint64
	size   int // bytes the header took
}

func (h wsHeader) control() bool { return h.opcode&0x8 != 0 }

// parseWSHeader reads the frame header at the start of b. It returns ok
// false when b does not hold all of it yet, and an error for a header the
// relay refuses: reserved bits set (no extension is ever negotiated
// through the proxy), an unknown opcode, a control frame that is
// fragmented or longer than 125 bytes, a length with its top bit set, or a
// masking that is wrong for the direction (clients must mask, servers must
// not).
func parseWSHeader(b []byte, fromClient bool) (h wsHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.opcode = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	n := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < n+2 {
			return h, false, nil
		}
		h.length = uint64(binary.BigEndian.Uint16(b[n:]))
		n += 2
	case 127:
		if len(b) < n+8 {
			return h, false, nil
		}
		h.length = binary.BigEndian.Uint64(b[n:])
		n += 8
	default:
		h.length = uint64(l)
	}
	if h.masked {
		if len(b) < n+4 {
			return h, false, nil
		}
		copy(h.key[:], b[n:n+4])
		n += 4
	}
	h.size = n
	switch {
	case b[0]&0x70 != 0:
		return h, false, fmt.Errorf("%w: reserved bits set (no extension was negotiated)", errFrame)
	case h.opcode > wsOpBinary && h.opcode < wsOpClose || h.opcode > wsOpPong:
		return h, false, fmt.Errorf("%w: unknown opcode %#x", errFrame, h.opcode)
	case h.control() && (!h.fin || h.length > wsMaxControlPayload):
		return h, false, fmt.Errorf("%w: fragmented or long control frame", errFrame)
	case h.length>>63 != 0:
		return h, false, fmt.Errorf("%w: length %d", errFrame, h.length)
	case h.masked != fromClient:
		return h, false, fmt.Errorf("%w: masking wrong for its direction", errFrame)
	}
	return h, true, nil
}

// appendWSHeader appends the header of an unmasked (server-to-client)
// frame.
func appendWSHeader(dst []byte, fin bool, opcode byte, length int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	switch {
	case length <= 125:
		return append(dst, b0, byte(length))
	case length <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, b0, 126), uint16(length))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0, 127), uint64(length))
	}
}

// appendCloseFrame appends a server-to-client close frame with status and
// reason (cut to fit the 125-byte control payload).
func appendCloseFrame(dst []byte, status uint16, reason string) []byte {
	if len(reason) > wsMaxControlPayload-2 {
		reason = reason[:wsMaxControlPayload-2]
	}
	dst = appendWSHeader(dst, true, wsOpClose, 2+len(reason))
	return append(binary.BigEndian.AppendUint16(dst, status), reason...)
}

// unmaskInto XORs src with the masking key, starting pos bytes into the
// payload, into dst.
func unmaskInto(dst, src []byte, key [4]byte, pos uint64) {
	for i := range src {
		dst[i] = src[i] ^ key[(pos+uint64(i))&3]
	}
}
