package mcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The owner of a bottle keeps two copies in its run folder (mode 0600,
// outside the part the bottle sees) so that any process of the machine can
// answer for a bottle it does not own: the plan it was launched from and
// its live routes table, rewritten after every reload. Neither holds a
// secret: credentials are named by slot.

// errNotRecorded says a bottle's run folder has no copy of something,
// because its owner did not launch it through a Control.
var errNotRecorded = errors.New("not recorded by its owner")

func writePlanCopy(rd launcher.RunDir, plan *schemas.Plan) error {
	data, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return fmt.Errorf("record plan of %s: %w", plan.Bottle, err)
	}
	if err := atomicfile.Write(rd.Plan(), data, 0o600); err != nil {
		return fmt.Errorf("record plan of %s: %w", plan.Bottle, err)
	}
	return nil
}

func writeRoutesCopy(rd launcher.RunDir, rf *schemas.RoutesFile) error {
	data := planner.RenderRoutesFile("bot-bottle: this bottle's live routes, kept by its owner after every reload.", rf)
	if err := atomicfile.Write(rd.Routes(), data, 0o600); err != nil {
		return fmt.Errorf("record routes: %w", err)
	}
	return nil
}

func readPlanCopy(rd launcher.RunDir) (*schemas.Plan, error) {
	data, err := os.ReadFile(rd.Plan())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("plan: %w", errNotRecorded)
	}
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var plan schemas.Plan
	if err := json.Unmarshal(data, &plan); err != nil {
		return nil, fmt.Errorf("read plan %s: %w", rd.Plan(), err)
	}
	return &plan, nil
}

func readRoutesCopy(rd launcher.RunDir) (*schemas.RoutesFile, error) {
	data, err := os.ReadFile(rd.Routes())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("routes: %w", errNotRecorded)
	}
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	return schemas.ParseRoutes(rd.Routes(), data)
}
