package launcher

import (
	"os"
	"os/exec"
	"testing"
)

func TestOwnerAlive(t *testing.T) {
	self := Self()
	if self.PID != os.Getpid() || self.Start == 0 || !self.Alive() {
		t.Fatalf("Self() = %+v, alive %v", self, self.Alive())
	}
	if (Owner{PID: self.PID, Start: self.Start + 1}).Alive() {
		t.Errorf("a pid whose start time differs (reused) must read as dead")
	}
	if (Owner{}).Alive() {
		t.Errorf("the zero owner must read as dead")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	if (Owner{PID: cmd.Process.Pid}).Alive() {
		t.Errorf("an exited, reaped process must read as dead")
	}
	back, err := ParseOwner(self.String())
	if err != nil || back != self {
		t.Errorf("ParseOwner(%q) = %+v, %v", self.String(), back, err)
	}
	for _, bad := range []string{"", "x/1", "1/y"} {
		if _, err := ParseOwner(bad); err == nil {
			t.Errorf("ParseOwner(%q) accepted", bad)
		}
	}
}
