// Package planner turns a bottle name into a schemas.Plan: it loads the
// bottle and its extends chain from the bot-bottle home, folds them, adds the
// agent provider's routes, assigns token slots and renders the routes file
// that the egress proxy enforces.
//
// Planning reads files but writes nothing and holds no secret: credentials are
// named by host environment variable in the plan and by slot in the routes
// file. Token values are read only by Tokens, at launch, from an environment
// map the caller passes in (never os.Environ from inside this package).
//
// The home is the trust boundary: bottles load only from
// $BOT_BOTTLE_HOME/bottles. A bottles folder found anywhere else (in a cloned
// repository, say) is ignored with a warning, so a repository cannot point a
// host secret at a host of its choosing.
package planner
