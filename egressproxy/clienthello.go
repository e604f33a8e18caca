package egressproxy

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// A tls_passthrough tunnel is never decrypted, so the only thing the proxy
// can check in it is the TLS ClientHello the agent sends first: the server
// name (SNI) it names must be the host of the CONNECT. Otherwise an agent
// could CONNECT to an allowed host and name another one in TLS, reaching
// any site behind the same CDN or load balancer (domain fronting). The
// proxy therefore reads the ClientHello before it dials, parses it with
// cryptobyte (every length checked against what is there), and refuses a
// hello that names no server, names another, or hides the name with
// Encrypted Client Hello. The bytes read are replayed to the upstream
// unchanged.

const (
	recordTypeHandshake  = 22
	handshakeClientHello = 1
	recordHeaderLen      = 5
	maxPlaintextRecord   = 1 << 14 // RFC 8446 5.1
	// maxClientHello bounds the handshake message, as crypto/tls's server
	// does (maxHandshake): a ClientHello with post-quantum key shares is a
	// few KiB.
	maxClientHello = 1 << 16

	extServerName = 0x0000
	// Encrypted Client Hello (RFC 9849 / draft-ietf-tls-esni) and its
	// predecessors: each one hides the real server name.
	extECH      = 0xfe0d
	extESNI     = 0xffce // draft-ietf-tls-esni-00..03
	extECHDraft = 0xfe08 // draft-ietf-tls-esni-08..12 used 0xfe08..0xfe0c
)

// errNotClientHello reports that a tunnel did not start with a TLS
// ClientHello the proxy can read.
var errNotClientHello = errors.New("not a TLS ClientHello")

// helloInfo is what the proxy takes from a ClientHello.
type helloInfo struct {
	serverName string // as sent; "" when the hello names none
	ech        bool   // the hello carries Encrypted Client Hello (or ESNI)
}

// readClientHello reads TLS records from r until they hold one whole
// ClientHello handshake message, and returns every byte read (to replay
// upstream) and the message. It reads nothing past the record that
// completes the message.
func readClientHello(r io.Reader) (raw, msg []byte, err error) {
	var hs []byte
	for {
		var hdr [recordHeaderLen]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return raw, nil, fmt.Errorf("%w: record header: %w", errNotClientHello, err)
		}
		raw = append(raw, hdr[:]...)
		n := int(hdr[3])<<8 | int(hdr[4])
		switch {
		case hdr[0] != recordTypeHandshake:
			return raw, nil, fmt.Errorf("%w: record type %d before the ClientHello", errNotClientHello, hdr[0])
		case hdr[1] != 3:
			return raw, nil, fmt.Errorf("%w: record version %d.%d", errNotClientHello, hdr[1], hdr[2])
		case n == 0 || n > maxPlaintextRecord:
			return raw, nil, fmt.Errorf("%w: record length %d", errNotClientHello, n)
		}
		start := len(raw)
		raw = append(raw, make([]byte, n)...)
		if m, err := io.ReadFull(r, raw[start:]); err != nil {
			return raw[:start+m], nil, fmt.Errorf("%w: record body: %w", errNotClientHello, err)
		}
		hs = append(hs, raw[start:]...)
		if len(hs) < 4 {
			continue
		}
		if hs[0] != handshakeClientHello {
			return raw, nil, fmt.Errorf("%w: handshake message type %d", errNotClientHello, hs[0])
		}
		want := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		switch {
		case want > maxClientHello:
			return raw, nil, fmt.Errorf("%w: %d bytes is too long", errNotClientHello, want)
		case len(hs) > want:
			// Another handshake message rides behind the hello: no
			// client sends one before the server has answered.
			return raw, nil, fmt.Errorf("%w: data after the ClientHello in its record", errNotClientHello)
		case len(hs) == want:
			return raw, hs, nil
		}
	}
}

// parseClientHello reads the server name and the ECH extensions of a
// ClientHello handshake message (its 4-byte header included). It refuses
// what a correct client never sends and a server might read differently
// from the proxy: a repeated extension, more than one name, a name type
// other than host_name, trailing bytes anywhere.
func parseClientHello(msg []byte) (helloInfo, error) {
	var info helloInfo
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) || typ != handshakeClientHello || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return info, fmt.Errorf("%w: bad handshake header", errNotClientHello)
	}
	var vers uint16
	var random, sessionID, suites, compression cryptobyte.String
	if !body.ReadUint16(&vers) || !body.ReadBytes((*[]byte)(&random), 32) ||
		!body.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!body.ReadUint16LengthPrefixed(&suites) || len(suites) == 0 || len(suites)%2 != 0 ||
		!body.ReadUint8LengthPrefixed(&compression) || len(compression) == 0 {
		return info, fmt.Errorf("%w: malformed hello", errNotClientHello)
	}
	if body.Empty() {
		return info, nil // no extensions (TLS 1.0-1.2 allow it): no server name
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return info, fmt.Errorf("%w: malformed extensions", errNotClientHello)
	}
	seen := map[uint16]bool{}
	for !exts.Empty() {
		var ext uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&ext) || !exts.ReadUint16LengthPrefixed(&data) {
			return info, fmt.Errorf("%w: malformed extension", errNotClientHello)
		}
		if seen[ext] {
			return info, fmt.Errorf("%w: extension %#04x repeated", errNotClientHello, ext)
		}
		seen[ext] = true
		switch {
		case ext == extServerName:
			name, err := parseServerName(data)
			if err != nil {
				return info, err
			}
			info.serverName = name
		case ext == extECH || ext == extESNI || (ext >= extECHDraft && ext < extECH):
			info.ech = true
		}
	}
	return info, nil
}

// parseServerName reads a server_name extension (RFC 6066 3) that holds
// exactly one non-empty host_name.
func parseServerName(data cryptobyte.String) (string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || list.Empty() {
		return "", fmt.Errorf("%w: malformed server_name", errNotClientHello)
	}
	var nameType uint8
	var name cryptobyte.String
	if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
		return "", fmt.Errorf("%w: malformed server_name entry", errNotClientHello)
	}
	if nameType != 0 || len(name) == 0 || !list.Empty() {
		return "", fmt.Errorf("%w: server_name must hold exactly one host name", errNotClientHello)
	}
	return string(name), nil
}
