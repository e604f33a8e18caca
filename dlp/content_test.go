package dlp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Encode applies codings to body, for tests (in this and other packages'
// tests through Encode's twin in egressproxy).
func encode(t testing.TB, body []byte, codings ...string) []byte {
	t.Helper()
	for _, c := range codings {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch c {
		case "gzip":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "rawdeflate":
			w, _ = flate.NewWriter(&buf, flate.BestSpeed)
		case "br":
			w = brotli.NewWriter(&buf)
		case "zstd":
			zw, err := zstd.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w = zw
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		body = buf.Bytes()
	}
	return body
}

func TestDecodeStacked(t *testing.T) {
	plain := bytes.Repeat([]byte("hello secret world "), 100)
	for _, cs := range [][]string{{"gzip"}, {"deflate"}, {"br"}, {"zstd"}, {"gzip", "br"}, {"zstd", "deflate", "gzip"}} {
		got, err := Decode(cs, encode(t, plain, cs...), 1<<20)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%v: err %v, equal %v", cs, err, bytes.Equal(got, plain))
		}
	}
	got, err := Decode([]string{"deflate"}, encode(t, plain, "rawdeflate"), 1<<20)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("raw deflate: %v", err)
	}
}

func TestDecodeBomb(t *testing.T) {
	bomb := make([]byte, 8<<20)
	for _, c := range []string{"gzip", "deflate", "br", "zstd"} {
		enc := encode(t, bomb, c)
		if len(enc) > 64<<10 {
			t.Fatalf("%s bomb is %d bytes", c, len(enc))
		}
		if _, err := Decode([]string{c}, enc, 1<<20); !errors.Is(err, ErrDecodedTooLarge) {
			t.Errorf("%s: err %v, want ErrDecodedTooLarge", c, err)
		}
	}
}

func TestDecodeRefusesUnknownAndBroken(t *testing.T) {
	if _, err := Decode([]string{"compress"}, []byte("x"), 10); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("compress: %v", err)
	}
	if _, err := Decode([]string{"gzip"}, []byte("not gzip"), 10); !errors.Is(err, ErrBadEncoding) {
		t.Errorf("broken gzip: %v", err)
	}
	if got := Codings([]string{"gzip, br", " identity", "ZSTD"}); len(got) != 3 || got[2] != "zstd" {
		t.Errorf("Codings = %v", got)
	}
}
