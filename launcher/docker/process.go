package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// outputDrainDelay bounds the wait for the attach stream after the
// container has exited.
const outputDrainDelay = 5 * time.Second

// process is a running bottle container.
type process struct {
	cli  *client.Client
	id   string
	tty  bool
	wait client.ContainerWaitResult
	conn client.HijackedResponse
	// done is closed when the output has been copied out.
	done chan struct{}
	// limits counts how the container met its resource limits.
	limits *limitWatch

	waitOnce sync.Once
	code     int
	err      error
	stopOnce sync.Once
}

var _ launcher.Process = (*process)(nil)

// start attaches, registers the exit wait and starts the container, in
// that order, so neither the first output nor the exit can be missed.
func (p *process) start(ctx context.Context, stdio launcher.Stdio) error {
	att, err := p.cli.ContainerAttach(ctx, p.id, client.ContainerAttachOptions{
		Stream: true, Stdin: stdio.In != nil, Stdout: true, Stderr: true,
	})
	if err != nil {
		close(p.done)
		return fmt.Errorf("attach: %w", err)
	}
	p.conn = att.HijackedResponse
	// The wait must outlive ctx, which only bounds the start.
	p.wait = p.cli.ContainerWait(context.Background(), p.id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := p.cli.ContainerStart(ctx, p.id, client.ContainerStartOptions{}); err != nil {
		p.conn.Close()
		close(p.done)
		return err
	}
	out, errw := stdio.Out, stdio.Err
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = out
	}
	go func() {
		defer close(p.done)
		if p.tty {
			_, _ = io.Copy(out, p.conn.Reader)
		} else {
			_, _ = stdcopy.StdCopy(out, errw, p.conn.Reader)
		}
	}()
	if stdio.In != nil {
		go func() {
			_, _ = io.Copy(p.conn.Conn, stdio.In)
			_ = p.conn.CloseWrite()
		}()
	}
	return nil
}

// ID returns the container id.
func (p *process) ID() string { return p.id }

// ContainerID returns the container id.
func (p *process) ContainerID() string { return p.id }

// Wait waits for the container to exit and its output to drain.
func (p *process) Wait() (int, error) {
	p.waitOnce.Do(func() {
		select {
		case res := <-p.wait.Result:
			p.code = int(res.StatusCode)
			if res.Error != nil && res.Error.Message != "" {
				p.err = fmt.Errorf("container %.12s: %s", p.id, res.Error.Message)
			}
		case err := <-p.wait.Error:
			p.code, p.err = -1, fmt.Errorf("wait for container %.12s: %w", p.id, err)
		}
		select {
		case <-p.done:
		case <-time.After(outputDrainDelay):
		}
		p.conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p.noteExit(ctx)
		cancel()
		p.limits.stop()
	})
	return p.code, p.err
}

// Stop asks the daemon to stop the container: SIGTERM to the init, which
// passes it on, then SIGKILL after grace.
func (p *process) Stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		secs := int((grace + time.Second - 1) / time.Second)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
			defer cancel()
			_, _ = p.cli.ContainerStop(ctx, p.id, client.ContainerStopOptions{Timeout: &secs})
		}()
	})
}

// Release removes the container.
func (p *process) Release(ctx context.Context) error {
	return removeContainer(ctx, p.cli, p.id)
}

func removeContainer(ctx context.Context, cli *client.Client, id string) error {
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}
