package dlp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// ErrDecodedTooLarge is returned (wrapped) by Decode when a body decodes to
// more than its limit: a decompression bomb, or just too much to scan.
var ErrDecodedTooLarge = errors.New("decoded body exceeds the limit")

// ErrUnknownEncoding is returned (wrapped) by Decode for a content coding
// it cannot undo, so cannot scan.
var ErrUnknownEncoding = errors.New("unknown content encoding")

// ErrBadEncoding is returned (wrapped) when a body is not valid in the
// coding it claims.
var ErrBadEncoding = errors.New("body does not decode")

// Codings parses a Content-Encoding header's values into the codings in
// the order they were applied; "identity" and empty entries are dropped.
func Codings(values []string) []string {
	var out []string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// Decode undoes codings (in the order they were applied: the last is
// undone first) on body, as a server would before it reads the body, and
// returns at most limit decoded bytes: more is ErrDecodedTooLarge.
// gzip and x-gzip, deflate (zlib-wrapped as HTTP specifies, or raw, which
// servers also accept), br and zstd are known.
func Decode(codings []string, body []byte, limit int64) ([]byte, error) {
	if len(codings) > 4 {
		return nil, fmt.Errorf("%d stacked content codings: %w", len(codings), ErrUnknownEncoding)
	}
	out := body
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		if out, err = decodeOne(codings[i], out, limit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeOne(coding string, in []byte, limit int64) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w: %w", ErrBadEncoding, err)
		}
		zr.Multistream(true)
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(in))
		if err != nil {
			r = flate.NewReader(bytes.NewReader(in)) // raw deflate, as some clients send it
		} else {
			r = zr
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(in))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(in), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(limit)+1<<20), zstd.WithDecoderMaxWindow(min(uint64(limit)+1, zstd.MaxWindowSize)))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w: %w", ErrBadEncoding, err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("%q: %w", coding, ErrUnknownEncoding)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if n > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", coding, ErrDecodedTooLarge, limit)
	}
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("%s: %w (%d bytes)", coding, ErrDecodedTooLarge, limit)
		}
		return nil, fmt.Errorf("%s: %w: %w", coding, ErrBadEncoding, err)
	}
	return buf.Bytes(), nil
}
