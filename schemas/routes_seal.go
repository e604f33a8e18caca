package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// A routes file proves it is whole with its last line, the seal:
//
//	# sha256:<hex SHA-256 of every byte before this line>
//
// A file cut off mid-write is still YAML, and often valid routes: cut just
// before a route's path_allowlist or methods it loses its limits, cut
// inside a host name it names another host. Without the seal a reload
// would take such a file for a wider policy. With it, a cut anywhere loses
// or breaks the last line and the file is refused; so is a file changed
// after it was sealed. The digest covers the exact bytes, not selected
// fields, so a key added to routes files later is covered without a
// change here. (RoutesFile.Digest, by contrast, names a table's meaning,
// for review to tell that a live table changed.)
//
// The seal is a YAML comment: tools that read the file as YAML ignore it.

// sealPrefix starts the seal line.
const sealPrefix = "# sha256:"

// sealLen is the length of a seal line, newline included.
const sealLen = len(sealPrefix) + sha256.Size*2 + 1

// SealRoutes returns body followed by its seal. A body that does not end
// with a newline gets one first, so that the seal is a line of its own.
func SealRoutes(body []byte) []byte {
	out := make([]byte, 0, len(body)+1+sealLen)
	out = append(out, body...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	sum := sha256.Sum256(out)
	out = append(out, sealPrefix...)
	out = hex.AppendEncode(out, sum[:])
	return append(out, '\n')
}

// UnsealRoutes returns src without its seal lines, whether they match or
// not: what `bot-bottle routes seal` seals again after a person edited a
// sealed file. Every seal line goes, not only the last: a seal left inside
// a body would make a cut there look like a whole, older file.
func UnsealRoutes(src []byte) []byte {
	var out []byte
	for line := range bytes.Lines(src) {
		if !bytes.HasPrefix(line, []byte(sealPrefix)) {
			out = append(out, line...)
		}
	}
	return out
}

// CheckRoutesSeal returns the body of a sealed routes file: src without its
// seal line. A file whose last line is not a seal, or whose seal does not
// match the bytes above it, is refused with an error naming file and line.
func CheckRoutesSeal(file string, src []byte) ([]byte, error) {
	const hint = "a routes file is written whole by bot-bottle; seal one written by hand with: bot-bottle routes seal FILE"
	if len(src) == 0 {
		return nil, Errors{{At: Location{File: file, Line: 1, Col: 1}, Msg: "routes file is empty"}}
	}
	body, last := splitLastLine(src)
	line := bytes.Count(body, []byte("\n")) + 1
	at := Location{File: file, Line: line, Col: 1}
	if !bytes.HasPrefix(last, []byte(sealPrefix)) {
		return nil, Errors{{At: at, Msg: "routes file is not sealed: its last line must be \"" + sealPrefix + "<digest of the lines above>\"; a file cut short loses it", Hint: hint}}
	}
	switch {
	case src[len(src)-1] != '\n':
		return nil, Errors{{At: at, Msg: "routes file is cut short: its seal line does not end with a newline", Hint: hint}}
	case len(last) != sealLen-1:
		return nil, Errors{{At: at, Msg: fmt.Sprintf("routes file seal is malformed: want %d hex digits after %q", sha256.Size*2, sealPrefix), Hint: hint}}
	}
	if i := bytes.Index(body, []byte("\n"+sealPrefix)); i >= 0 || bytes.HasPrefix(body, []byte(sealPrefix)) {
		inner := Location{File: file, Line: bytes.Count(body[:i+1], []byte("\n")) + 1, Col: 1}
		return nil, Errors{{At: inner, Msg: "routes file has a seal line before its last line: a cut there would look whole", Hint: hint}}
	}
	want := sha256.Sum256(body)
	if string(last[len(sealPrefix):]) != hex.EncodeToString(want[:]) {
		return nil, Errors{{At: at, Msg: "routes file does not match its seal: it was cut short or changed after it was sealed", Hint: hint}}
	}
	return body, nil
}

// splitLastLine splits src before its last line; a final newline belongs
// to the last line and is not returned with it.
func splitLastLine(src []byte) (body, last []byte) {
	trimmed := bytes.TrimSuffix(src, []byte("\n"))
	i := bytes.LastIndexByte(trimmed, '\n')
	return src[:i+1], trimmed[i+1:]
}
