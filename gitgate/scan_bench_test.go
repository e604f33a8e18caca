package gitgate

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp"
)

// BenchmarkScanPatch measures the patch scanner's throughput on a log of
// source-like added lines (MB/s is the scan throughput).
func BenchmarkScanPatch(b *testing.B) {
	var log bytes.Buffer
	for c := range 200 {
		fmt.Fprintf(&log, "\x01%040x\n    change %d\n\ndiff --git a/f.go b/f.go\nindex 1..2 100644\n--- a/f.go\n+++ b/f.go\n@@ -1,0 +1,40 @@\n", c, c)
		for i := range 40 {
			fmt.Fprintf(&log, "+\tvalue%d := compute(%q, %d) // %s\n", i, "input", i, strings.Repeat("word ", 8))
		}
	}
	det, err := dlp.NewDetector(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(log.Len()))
	b.ResetTimer()
	for range b.N {
		p := &patchScanner{det: det, max: 1 << 30}
		if err := p.read(bytes.NewReader(log.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
