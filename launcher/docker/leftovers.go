package docker

import (
	"context"
	"fmt"

	"github.com/bot-bottle/bot-bottle/launcher"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Leftovers lists the containers and networks labelled for home whose
// owner is no longer alive.
func (b *Backend) Leftovers(ctx context.Context, home string, alive func(launcher.Owner) bool) ([]launcher.Leftover, error) {
	cli, err := b.Client()
	if err != nil {
		return nil, err
	}
	f := client.Filters{}.Add("label", LabelHome+"="+home)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker backend: list containers: %w", err)
	}
	var out []launcher.Leftover
	orphan := func(labels map[string]string) bool {
		o, err := launcher.ParseOwner(labels[LabelOwner])
		return err != nil || !alive(o)
	}
	for _, c := range cs.Items {
		if orphan(c.Labels) {
			out = append(out, launcher.Leftover{Backend: Name, BottleID: c.Labels[LabelBottle], Kind: "container", ID: c.ID})
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker backend: list networks: %w", err)
	}
	for _, n := range ns.Items {
		if orphan(n.Labels) {
			out = append(out, launcher.Leftover{Backend: Name, BottleID: n.Labels[LabelBottle], Kind: "network", ID: n.ID})
		}
	}
	return out, nil
}

// RemoveLeftover removes one container or network.
func (b *Backend) RemoveLeftover(ctx context.Context, l launcher.Leftover) error {
	cli, err := b.Client()
	if err != nil {
		return err
	}
	switch l.Kind {
	case "container":
		return removeContainer(ctx, cli, l.ID)
	case "network":
		if _, err := cli.NetworkRemove(ctx, l.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove network %.12s: %w", l.ID, err)
		}
		return nil
	}
	return fmt.Errorf("docker backend: unknown leftover kind %q", l.Kind)
}
