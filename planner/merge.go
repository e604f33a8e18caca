package planner

import (
	"slices"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// folded is a manifest chain merged by the extends rules: env merges (later
// wins), routes concatenate (a later route for the same host replaces the
// earlier), agent_provider, resources fields and runtime are last-wins
// scalars, workdir.writable and hide concatenate. Every value keeps
// where it was written, so errors found after merging still point at a file.
type folded struct {
	chain     []string // bottle files, in fold order, each once
	provider  providerFields
	env       map[string]string
	resources resourceFields
	replaced  []schemas.ReplacedRoute
	writable  []schemas.WritablePlan // workdir.writable, concatenated (see addWritable)
	hide      []schemas.HidePlan     // hide, concatenated (see addHide)
	dlp       string                 // the bottle's dlp.on_match, last-wins; "" when no manifest sets it
	// runtime is the last runtime written along the chain, and where.
	runtime   string
	runtimeAt schemas.Location
	git       gitFolded

	// routes holds every route added, in order; a replaced one is marked
	// dropped rather than deleted, and byKey finds the live route for a
	// host and port, so folding stays linear in the number of routes.
	routes []sourcedRoute
	byKey  map[string]int
}

type sourcedRoute struct {
	route   schemas.Route
	origin  string // file:line:col, relative to the bottles folder
	dropped bool   // replaced by a later route for the same host and port
}

// providerFields is agent_provider after folding, each field with the
// position of the manifest that set it (zero Location when unset).
type providerFields struct {
	template, authToken, image string
	apiKey                     string
	forward                    *bool
	command                    []string
	at                         map[string]schemas.Location
}

func newFolded() *folded {
	return &folded{env: map[string]string{}, provider: providerFields{at: map[string]schemas.Location{}}, byKey: map[string]int{}}
}

// absorb folds a resolved parent into f.
func (f *folded) absorb(p *folded) {
	for _, c := range p.chain {
		if !slices.Contains(f.chain, c) {
			f.chain = append(f.chain, c)
		}
	}
	for k, v := range p.env {
		f.env[k] = v
	}
	f.provider.overlay(p.provider)
	if p.dlp != "" {
		f.dlp = p.dlp
	}
	f.resources.overlay(p.resources)
	if p.runtime != "" {
		f.runtime, f.runtimeAt = p.runtime, p.runtimeAt
	}
	f.git.absorbGit(p.git)
	for _, r := range p.replaced {
		f.noteReplaced(r)
	}
	for _, w := range p.writable {
		f.addWritable(w)
	}
	for _, h := range p.hide {
		f.addHide(h)
	}
	for _, r := range p.liveRoutes() {
		f.addRoute(r)
	}
}

// absorbManifest folds one parsed manifest (the last word) into f. short is
// the file name used in origins.
func (f *folded) absorbManifest(m *schemas.Manifest, short string) {
	if !slices.Contains(f.chain, short) {
		f.chain = append(f.chain, short)
	}
	for k, v := range m.Env {
		f.env[k] = v
	}
	if m.AgentProvider != nil {
		f.provider.overlay(providerOf(m.AgentProvider))
	}
	f.absorbWorkdir(m.Workdir, short)
	f.absorbHide(m, short)
	if m.DLP != nil {
		f.dlp = m.DLP.OnMatch
	}
	f.resources.overlayManifest(m.Resources, short)
	if m.Runtime != "" {
		f.runtime, f.runtimeAt = m.Runtime, m.KeyAt["runtime"]
	}
	f.git.absorbGitManifest(m.GitGate, short)
	if m.Egress != nil {
		for _, r := range m.Egress.Routes {
			at := r.At
			at.File = short
			f.addRoute(sourcedRoute{route: r, origin: at.String()})
		}
	}
}

// addRoute appends r, replacing an earlier route for the same host and port.
func (f *folded) addRoute(r sourcedRoute) {
	key := r.route.RouteKey()
	if i, ok := f.byKey[key]; ok {
		old := f.routes[i]
		if old.origin != r.origin { // the same file reached twice (a diamond) replaces nothing
			f.noteReplaced(schemas.ReplacedRoute{Host: key, Origin: old.origin, By: r.origin})
		}
		f.routes[i].dropped = true
	}
	f.byKey[key] = len(f.routes)
	f.routes = append(f.routes, r)
}

// liveRoutes returns the routes not replaced, in order.
func (f *folded) liveRoutes() []sourcedRoute {
	out := make([]sourcedRoute, 0, len(f.byKey))
	for _, r := range f.routes {
		if !r.dropped {
			out = append(out, r)
		}
	}
	return out
}

func (f *folded) noteReplaced(r schemas.ReplacedRoute) {
	if !slices.Contains(f.replaced, r) { // few entries: replacements are rare
		f.replaced = append(f.replaced, r)
	}
}

// providerOf lifts one manifest's agent_provider into providerFields,
// keeping only the fields the manifest set.
func providerOf(p *schemas.AgentProvider) providerFields {
	return providerFields{template: p.Template, authToken: p.AuthToken, image: p.Image,
		forward: p.ForwardHostCredentials, apiKey: p.APIKey, command: p.Command, at: p.KeyAt}
}

// overlay sets every field that src set, last-wins.
func (pf *providerFields) overlay(src providerFields) {
	for field, at := range src.at {
		pf.at[field] = at
		switch field {
		case "template":
			pf.template = src.template
		case "auth_token":
			pf.authToken = src.authToken
		case "image":
			pf.image = src.image
		case "forward_host_credentials":
			pf.forward = src.forward
		case "api_key":
			pf.apiKey = src.apiKey
		case "command":
			pf.command = src.command
		}
	}
}
