package netns_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/netns"
)

func TestCheckSaysWhatIsWrong(t *testing.T) {
	// An init that fails its probe stands for a host that refuses the
	// namespaces: the error must say so and name the way out.
	err := netns.New("/bin/false").Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot create the bottle's namespaces") || !strings.Contains(err.Error(), "--backend docker") {
		t.Errorf("Check with a failing init: %v", err)
	}
}
