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
//
// Agents (PlanAgent) are who the agent is, not what it may reach: a system
// prompt and skills, in a bottle of the home. They load from
// $BOT_BOTTLE_HOME/agents, else from the workdir's repository's
// .bot-bottle/agents, and their skills from $BOT_BOTTLE_HOME/skills, else
// the repository's .bot-bottle/skills. A repository agent may name only a
// bottle of the home and sets no bottle key (schemas.ParseAgent refuses
// them, located). Everything read from a repository goes through
// internal/beneath (no symlink anywhere, no hard link, bounded) and is
// only ever data: the prompt is appended to the CLI's instructions after
// bot-bottle's, under a heading naming its file and between markers
// carrying its SHA-256; the skills' files are copied as bytes into the
// CLI's skills folder; the plan shows their sources, sizes and digests and
// flattened excerpts labelled as whose words they are. Nothing is run.
package planner
