package planner

import (
	"errors"
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// dockerRuntime resolves plan.Runtime with this host's Docker (when the
// planner may ask, see DockerRuntime): plan.DockerRuntime is what a docker
// bottle would run under. A bottle that asks for runsc where Docker cannot
// give it is a manifest error at the line that asked; where Docker cannot
// be asked, or where auto meets a runsc that cannot work, the plan says
// so, and launch decides.
func (p *Planner) dockerRuntime(plan *schemas.Plan, f *folded) error {
	if p.DockerRuntime == nil {
		return nil
	}
	rt, err := p.DockerRuntime(plan.Runtime)
	var refused *schemas.RuntimeError
	switch {
	case err == nil:
		plan.DockerRuntime = rt
	case errors.As(err, &refused) && plan.Runtime == schemas.RuntimeRunsc:
		return schemas.Errors{{At: f.runtimeAt, Key: "runtime", Msg: refused.Msg, Hint: refused.Hint}}
	case errors.As(err, &refused):
		plan.Warnings = append(plan.Warnings, "--backend docker will refuse this bottle: "+refused.Error())
	case plan.Runtime == schemas.RuntimeRunsc:
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("runtime runsc: cannot ask Docker whether it has runsc registered (%v); launch --backend docker checks again and refuses without it", err))
	}
	return nil
}

// runtimeLine says which runtime a docker bottle of plan runs under: on this
// host when the planner asked Docker, else the rule.
func runtimeLine(plan *schemas.Plan) string {
	rt := plan.Runtime
	if rt == "" {
		rt = schemas.RuntimeAuto
	}
	switch {
	case plan.DockerRuntime != "" && rt == schemas.RuntimeAuto:
		why := "Docker has runsc registered"
		if plan.DockerRuntime == schemas.RuntimeRunc {
			why = "Docker has no runsc registered"
		}
		return fmt.Sprintf("auto -> %s with --backend docker here (%s; %s)", plan.DockerRuntime, why, schemas.RuntimeNote(plan.DockerRuntime))
	case rt == schemas.RuntimeAuto:
		return "auto (--backend docker: runsc, gVisor, where Docker has it registered, else runc)"
	case rt == schemas.RuntimeRunsc && plan.DockerRuntime != "":
		return "runsc (--backend docker only; Docker has it registered here; " + schemas.RuntimeNote(rt) + ")"
	case rt == schemas.RuntimeRunsc:
		return "runsc (--backend docker only; " + schemas.RuntimeNote(rt) + ")"
	}
	return rt + " (--backend docker; " + schemas.RuntimeNote(rt) + ")"
}
