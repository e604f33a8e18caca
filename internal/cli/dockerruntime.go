package cli

import (
	"context"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
)

// dockerRuntimeWait bounds plan's question to the Docker daemon: a plan
// must not hang on a daemon that does not answer.
const dockerRuntimeWait = 5 * time.Second

// dockerRuntime is the planner's DockerRuntime for plan and bottle_plan:
// the docker backend's answer, from the daemon at DOCKER_HOST.
func (c *cli) dockerRuntime() func(requested string) (string, error) {
	be := docker.New(docker.Options{Host: c.env["DOCKER_HOST"]})
	return func(requested string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), dockerRuntimeWait)
		defer cancel()
		return be.ChooseRuntime(ctx, requested)
	}
}
