package docker

import (
	"github.com/bot-bottle/bot-bottle/launcher"
)

// Labels on every object the backend creates.
const (
	LabelBottle   = "dev.bot-bottle.bottle"    // the bottle id
	LabelHome     = "dev.bot-bottle.home"      // the bot-bottle home it belongs to
	LabelOwner    = "dev.bot-bottle.owner"     // pid/start of the owning process
	LabelOwnerPID = "dev.bot-bottle.owner-pid" // the same pid, for a person reading docker ps
	LabelImage    = "dev.bot-bottle.image"     // on the default image: what it is
)

func labels(spec *launcher.Spec) map[string]string {
	return map[string]string{
		LabelBottle:   spec.BottleID,
		LabelHome:     spec.Home,
		LabelOwner:    spec.Owner.String(),
		LabelOwnerPID: itoa(spec.Owner.PID),
	}
}
