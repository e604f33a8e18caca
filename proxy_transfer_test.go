package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestLargeDownloadThroughProxy downloads 32 MiB twice from inside a
// bottle through the proxy's MITM, on every backend: TLS's record MACs
// prove every byte crossed the bottle's relay intact. Under gVisor the
// relay's spliced copy between the bottle's TCP port and the proxy's unix
// socket corrupted such transfers a few megabytes in ("bad record MAC").
func TestLargeDownloadThroughProxy(t *testing.T) {
	const size, downloads = 32 << 20, 2
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			code, out, errOut := e.run("sh", "-c", fmt.Sprintf("%s download https://allowed.test/bytes/%d %d", e.client, size, downloads))
			if code != 0 || !strings.Contains(out, fmt.Sprintf("bytes=%d ", size*downloads)) {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}
