package launcher

import (
	"context"
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// chooseRuntime asks be which runtime a bottle that asked for requested
// gets. A backend that has no choice of runtime runs its own way, and
// refuses a bottle that asked for gVisor: it would run without it.
func chooseRuntime(ctx context.Context, be Backend, requested string) (string, error) {
	if rc, ok := be.(RuntimeChooser); ok {
		return rc.ChooseRuntime(ctx, requested)
	}
	if requested == schemas.RuntimeRunsc {
		return "", fmt.Errorf("runtime runsc: the %s backend runs bottles on the host kernel, not under gVisor: use --backend docker with runsc registered, or set runtime: auto", be.Name())
	}
	return "", nil
}
