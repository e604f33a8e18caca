package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/spf13/pflag"
)

// Environment variables that choose the shared event channel, each the
// default of a flag of the same meaning.
const (
	envEvents      = "BOT_BOTTLE_EVENTS"              // nats://HOST:PORT; empty: SQLite in the home
	envCreds       = "BOT_BOTTLE_EVENTS_CREDS"        // a NATS creds file
	envNkey        = "BOT_BOTTLE_EVENTS_NKEY"         // a NATS user nkey seed file
	envUser        = "BOT_BOTTLE_EVENTS_USER"         // a NATS user name
	envPasswordEnv = "BOT_BOTTLE_EVENTS_PASSWORD_ENV" // the NAME of the variable holding its password
	envCA          = "BOT_BOTTLE_EVENTS_CA"           // PEM CAs the server's certificate chains to
	// defaultPasswordEnv holds the password when no other variable is named.
	defaultPasswordEnv = "BOT_BOTTLE_EVENTS_PASSWORD"
)

// channelFlags choose the event channel: SQLite in the home (the default),
// or a NATS JetStream server shared by several machines.
type channelFlags struct {
	url, creds, nkey, user, passwordEnv, ca string
}

// addChannelFlags adds the channel's flags to f. The URL flag is --events,
// but for egress, whose own --events takes a nats:// URL too: withURL
// false adds only the credential flags.
func (c *cli) addChannelFlags(f *pflag.FlagSet, withURL bool) {
	if withURL {
		f.StringVar(&c.channel.url, "events", "", "the shared event channel: nats://HOST:PORT (NATS JetStream, for several machines); default $"+envEvents+", else SQLite in the home")
	}
	f.StringVar(&c.channel.creds, "events-creds", "", "NATS credentials file (default $"+envCreds+")")
	f.StringVar(&c.channel.nkey, "events-nkey", "", "NATS user nkey seed file (default $"+envNkey+")")
	f.StringVar(&c.channel.user, "events-user", "", "NATS user name (default $"+envUser+"); its password is read from --events-password-env")
	f.StringVar(&c.channel.passwordEnv, "events-password-env", "", "the NAME of the environment variable that holds the NATS password (default $"+envPasswordEnv+", else "+defaultPasswordEnv+"); the value is never printed")
	f.StringVar(&c.channel.ca, "events-ca", "", "PEM file of the CAs the NATS server's certificate chains to (default $"+envCA+")")
}

// channelURL is the NATS URL the command uses, or "" for SQLite.
func (c *cli) channelURL() string {
	return strings.TrimSpace(cmp.Or(c.channel.url, c.env[envEvents]))
}

// natsOptions resolves the flags and the environment into store options.
// The password is read from the variable named, never from a flag: a flag's
// value shows in process listings.
func (c *cli) natsOptions() (natsjs.Options, error) {
	o := natsjs.Options{
		URL:          c.channelURL(),
		CredsFile:    cmp.Or(c.channel.creds, c.env[envCreds]),
		NkeySeedFile: cmp.Or(c.channel.nkey, c.env[envNkey]),
		User:         cmp.Or(c.channel.user, c.env[envUser]),
		CAFile:       cmp.Or(c.channel.ca, c.env[envCA]),
		Name:         "bot-bottle on " + cmp.Or(c.env[launcher.MachineEnv], launcher.ThisMachine()),
		Logger:       slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if !natsjs.IsURL(o.URL) {
		return o, &usageError{msg: fmt.Sprintf("--events %s: want nats://HOST:PORT or tls://HOST:PORT (or nothing, for SQLite in the home)", natsjs.Redact(o.URL)),
			hint: "BOT_BOTTLE_EVENTS=nats://nats.internal:4222 bot-bottle ps"}
	}
	if o.User != "" {
		name := cmp.Or(c.channel.passwordEnv, c.env[envPasswordEnv], defaultPasswordEnv)
		o.Password = c.env[name]
		if o.Password == "" {
			return o, &usageError{msg: fmt.Sprintf("NATS user %q: no password in $%s", o.User, name),
				hint: "export " + name + "=… (or name another variable with --events-password-env)"}
		}
	}
	return o, nil
}

// openChannel opens the NATS store the flags and environment name.
func (c *cli) openChannel() (*natsjs.Store, error) {
	o, err := c.natsOptions()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := natsjs.Open(ctx, o)
	if err != nil {
		return nil, channelHint(err)
	}
	return s, nil
}

// channelHint says what to do about a channel that will not open.
func channelHint(err error) error {
	switch {
	case errors.Is(err, natsjs.ErrUnreachable):
		return withHint(err, "check the URL and that nats-server runs there (nats-server -js)")
	case errors.Is(err, natsjs.ErrAuth):
		return withHint(err, "check --events-creds, --events-nkey, or --events-user and the password variable")
	case errors.Is(err, natsjs.ErrNoJetStream):
		return withHint(err, "start the server with JetStream: nats-server -js")
	case errors.Is(err, natsjs.ErrTLS):
		return withHint(err, "name the CA the server's certificate chains to with --events-ca")
	}
	return err
}
