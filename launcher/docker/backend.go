package docker

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/moby/moby/client"
)

// Name is the backend's --backend value.
const Name = "docker"

// Options configure the backend.
type Options struct {
	// Exe is the static bot-bottle binary mounted as the container's init;
	// empty means this process's own executable.
	Exe string
	// Host is the daemon address (DOCKER_HOST); empty means the default
	// unix socket.
	Host string
	// Busybox is the static busybox the default image is built from
	// (default /bin/busybox).
	Busybox string
	// Notify, when set, is told in a sentence for a person when the backend
	// does something that takes a while and that the person did not ask for
	// by name: building the default image, once per busybox.
	Notify func(string)
}

// Backend is the docker backend.
type Backend struct {
	opts Options

	clientOnce sync.Once
	cli        *client.Client
	cliErr     error

	imageMu sync.Mutex // one default-image build at a time
}

var _ launcher.Backend = (*Backend)(nil)

// New returns the docker backend. It does not contact the daemon until
// Check or Start.
func New(opts Options) *Backend {
	if opts.Busybox == "" {
		opts.Busybox = "/bin/busybox"
	}
	return &Backend{opts: opts}
}

// Name returns "docker".
func (b *Backend) Name() string { return Name }

// Client returns the Engine API client, created on first use. The client
// negotiates the API version down to the daemon's (1.40 and later).
func (b *Backend) Client() (*client.Client, error) {
	b.clientOnce.Do(func() {
		opts := []client.Opt{client.WithAPIVersionNegotiation()}
		if b.opts.Host != "" {
			opts = append(opts, client.WithHost(b.opts.Host))
		}
		b.cli, b.cliErr = client.New(opts...)
		if b.cliErr != nil {
			b.cliErr = fmt.Errorf("docker backend: %w", b.cliErr)
		}
	})
	return b.cli, b.cliErr
}

func (b *Backend) executable() (string, error) {
	if b.opts.Exe != "" {
		return b.opts.Exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("docker backend: find the bot-bottle binary: %w", err)
	}
	return exe, nil
}

// Check pings the daemon and makes sure the init binary can run in a
// container of any image: it must be statically linked.
func (b *Backend) Check(ctx context.Context) error {
	exe, err := b.executable()
	if err != nil {
		return err
	}
	if err := checkStatic(exe); err != nil {
		return fmt.Errorf("docker backend: %w: the binary runs inside the container, whose image has no C library for it; build bot-bottle with CGO_ENABLED=0, or use --backend local", err)
	}
	cli, err := b.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker backend: cannot reach the Docker daemon at %s (%v): start dockerd (or set DOCKER_HOST), or use --backend local",
			cli.DaemonHost(), err)
	}
	return nil
}

// checkStatic reports whether the ELF file at path needs a dynamic loader.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
