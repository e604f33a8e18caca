package bottleinit

import (
	"os"
	"strings"
	"testing"
)

// The init waits at its start gate until the owner has put it into its
// cgroups (a byte), and gives up when the owner closes the gate instead.
func TestStartGate(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := waitGate(int(r.Fd())); err != nil {
		t.Fatalf("an opened gate: %v", err)
	}

	r, w, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	code, err := Run(&Config{Command: []string{"true"}, Gate: int(r.Fd())})
	if code != ExitSetup || err == nil || !strings.Contains(err.Error(), "cgroups") {
		t.Fatalf("a gate closed without the byte: code %d, err %v; want the init to give up", code, err)
	}
	if err := waitGate(0); err != nil {
		t.Fatalf("no gate: %v", err)
	}
}
