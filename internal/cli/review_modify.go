package cli

import (
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

// modifyFlags edit a proposal's route for `review modify`.
type modifyFlags struct {
	paths, methods []string
	allPaths       bool
	authScheme     string
	tokenRef       string
}

func (m *modifyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&m.paths, "path", nil, "a path prefix to allow (repeat); replaces the proposed ones")
	f.BoolVar(&m.allPaths, "all-paths", false, "allow every path on the host")
	f.StringArrayVar(&m.methods, "method", nil, "an HTTP method to allow (repeat); replaces the proposed ones")
	f.StringVar(&m.authScheme, "auth-scheme", "", "inject credentials: Bearer, token or Basic (needs --token-ref and --persist)")
	f.StringVar(&m.tokenRef, "token-ref", "", "the HOST variable holding the credential (never the value)")
}

// route builds the operator's route from the proposal and the flags.
func (m *modifyFlags) route(v review.View) (*schemas.Route, error) {
	r := &schemas.Route{Host: v.Host, Port: v.Port, PathAllowlist: v.PathPrefixes, Methods: v.Methods}
	if len(m.paths) > 0 {
		r.PathAllowlist = m.paths
	}
	if m.allPaths {
		r.PathAllowlist = nil
	}
	if len(m.methods) > 0 {
		r.Methods = nil
		for _, meth := range m.methods {
			r.Methods = append(r.Methods, strings.ToUpper(meth))
		}
	}
	if m.authScheme != "" || m.tokenRef != "" {
		if m.authScheme == "" || m.tokenRef == "" {
			return nil, &usageError{msg: "auth needs both --auth-scheme and --token-ref"}
		}
		r.Auth = &schemas.Auth{Scheme: m.authScheme, TokenRef: m.tokenRef}
	}
	return r, nil
}
