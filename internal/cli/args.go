package cli

import (
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Argument checks that say what is missing in the command's own words
// ("logs: missing bottle ID") instead of cobra's "accepts 1 arg(s)", and
// that exit 2 like every other misuse of the command line.

// exactArgs wants exactly one argument, described by what.
func exactArgs(name, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return &usageError{msg: fmt.Sprintf("%s: missing %s", name, what)}
		case len(args) > 1:
			return &usageError{msg: fmt.Sprintf("%s: takes one %s, got %d: %s", name, what, len(args), quoteArgs(args))}
		}
		return nil
	}
}

// optionalArg wants at most one argument, described by what.
func optionalArg(name, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 1 {
			return &usageError{msg: fmt.Sprintf("%s: takes at most one %s, got %d: %s", name, what, len(args), quoteArgs(args))}
		}
		return nil
	}
}

// minArgs wants at least one argument, described by what.
func minArgs(name, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return &usageError{msg: fmt.Sprintf("%s: missing %s", name, what)}
		}
		return nil
	}
}

// noArgs wants none.
func noArgs(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &usageError{msg: fmt.Sprintf("%s: takes no arguments, got %s", name, quoteArgs(args))}
		}
		return nil
	}
}

// oneOfArgs wants exactly one argument from valid.
func oneOfArgs(name, what string, valid []string) cobra.PositionalArgs {
	one := exactArgs(name, what)
	return func(cmd *cobra.Command, args []string) error {
		if err := one(cmd, args); err != nil {
			return err
		}
		for _, v := range valid {
			if args[0] == v {
				return nil
			}
		}
		msg := fmt.Sprintf("%s: %s %q is not one of %s", name, what, args[0], strings.Join(valid, ", "))
		if best, ok := schemas.Closest(args[0], valid); ok {
			msg += fmt.Sprintf(" (did you mean %q?)", best)
		}
		return &usageError{msg: msg}
	}
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// flagError turns pflag's complaints into usage errors (exit 2) and
// suggests the flag a mistyped one was meant to be.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, isUnknown := strings.CutPrefix(msg, "unknown flag: --")
	if !isUnknown {
		if sh, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
			msg = sh
		}
		return &usageError{msg: cmd.CommandPath() + ": " + msg}
	}
	var known []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			known = append(known, f.Name)
		}
	})
	msg = fmt.Sprintf("%s: unknown flag --%s", cmd.CommandPath(), name)
	if best, ok := schemas.Closest(name, known); ok {
		msg += fmt.Sprintf(" (did you mean --%s?)", best)
	}
	return &usageError{msg: msg, hint: cmd.CommandPath() + " --help"}
}
