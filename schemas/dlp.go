package schemas

import "slices"

// DLP actions: what the egress proxy does with a request that carries a
// secret the bottle was not given (a credential pattern, or a host secret).
const (
	DLPBlock     = "block"     // refuse it with a 403 naming the rule (the default)
	DLPRedact    = "redact"    // replace the secret and send the rest
	DLPSupervise = "supervise" // hold it until the operator releases or refuses it
)

// DLPActions lists the valid values of dlp.on_match.
var DLPActions = []string{DLPBlock, DLPRedact, DLPSupervise}

// DLP is a manifest's dlp block, at the top level (the bottle's default)
// or on a route (which wins).
type DLP struct {
	OnMatch string `yaml:"on_match" json:"on_match"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// validate checks a dlp block present in the file (nil when written as
// `dlp:` with no value).
func (d *DLP) validate(key string, at Location) Errors {
	if d == nil || len(d.KeyAt) == 0 {
		return Errors{{At: at, Key: key, Msg: "is empty: a dlp block needs on_match", Hint: "on_match: " + DLPBlock}}
	}
	if !slices.Contains(DLPActions, d.OnMatch) {
		return Errors{{At: d.KeyAt["on_match"], Key: key + ".on_match", Msg: "is not a DLP action", Hint: oneOf(d.OnMatch, DLPActions)}}
	}
	return nil
}
