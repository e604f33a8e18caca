package review

import (
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// EditRoute is the route a person makes of v's by editing its paths and
// methods, as `review -i` asks for them and the page's modify form sends
// them: each a space-separated list, where an empty answer keeps what
// the agent proposed and * allows all. The result is the operator's route
// for a modify decision (CheckDecision validates it).
func EditRoute(v View, paths, methods string) *schemas.Route {
	r := &schemas.Route{Host: v.Host, Port: v.Port, PathAllowlist: v.PathPrefixes, Methods: v.Methods}
	switch paths = strings.TrimSpace(paths); paths {
	case "":
	case "*":
		r.PathAllowlist = nil
	default:
		r.PathAllowlist = strings.Fields(paths)
	}
	switch methods = strings.TrimSpace(methods); methods {
	case "":
	case "*":
		r.Methods = nil
	default:
		r.Methods = strings.Fields(strings.ToUpper(strings.ReplaceAll(methods, ",", " ")))
	}
	return r
}
