package dlp

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzUnescape: decoding never grows the data, never panics, and a value
// placed in the clear is still found after any prefix.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`\u0041\ud83d\ude00`, "%41%2541", `\x41\/\n`, "a\r\nb", `\u12`, `\ud800\u0041`, "%%4", `\`} {
		f.Add([]byte(s))
	}
	v := NewValues([]string{"fuzz-known-value-0123"})
	f.Fuzz(func(t *testing.T, b []byte) {
		if out := Unescape(b); len(out) > len(b) {
			t.Fatalf("unescape grew %d bytes to %d", len(b), len(out))
		}
		if !v.Contains(append(bytes.Clone(b), " fuzz-known-value-0123"...), nil) {
			t.Fatal("a value in the clear was not found")
		}
	})
}

// FuzzDecode: no input makes Decode panic or return more than its limit.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add([]byte{0x78, 0x9c, 3, 0, 0, 0, 0, 1}, uint8(1))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x24, 0, 1, 0, 0, 0x99, 0xe9, 0xd8, 0x51}, uint8(3))
	f.Add([]byte{0x0b, 0x02, 0x80, 0x61, 0x62, 0x03}, uint8(2))
	codings := []string{"gzip", "deflate", "br", "zstd"}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		const limit = 1 << 16
		out, err := Decode([]string{codings[int(which)%len(codings)]}, b, limit)
		if err == nil && len(out) > limit {
			t.Fatalf("decoded %d bytes past the limit", len(out))
		}
		if err != nil && !errors.Is(err, ErrBadEncoding) && !errors.Is(err, ErrDecodedTooLarge) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// FuzzSplitAcross: never panics; a value split at any point into two
// parts is always found.
func FuzzSplitAcross(f *testing.F) {
	f.Add([]byte("abc"), []byte("def"), uint8(5))
	const secret = "split-secret-value-0123456789"
	v := NewValues([]string{secret})
	f.Fuzz(func(t *testing.T, a, b []byte, cut uint8) {
		_ = v.SplitAcross([][]byte{a, b})
		k := 1 + int(cut)%(len(secret)-1)
		if !v.SplitAcross([][]byte{append(bytes.Clone(a), secret[:k]...), append([]byte(secret[k:]), b...)}) {
			t.Fatalf("split at %d not found", k)
		}
	})
}
