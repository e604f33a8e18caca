package schemas

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Agent is one agent file: who the agent is, not what it may reach. A
// Markdown file under $BOT_BOTTLE_HOME/agents/ (a home agent) or
// <repository>/.bot-bottle/agents/ (a repository agent), whose frontmatter
// names the bottle it runs in and its skills, and whose body is its system
// prompt:
//
//	---
//	bottle: claude-web
//	skills: [go-testing, review-checklist]
//	git-gate: {user: {name: reviewer bot, email: bot@example.invalid}}
//	---
//	You review pull requests for this repository. ...
//
// What an agent may reach and with which credentials is its bottle's, and
// bottles live only in the home: an agent that sets egress, env,
// agent_provider or any other bottle key is refused, with its position.
type Agent struct {
	Bottle  string        `yaml:"bottle" json:"bottle"`
	Skills  []string      `yaml:"skills" json:"skills,omitempty"`
	GitGate *AgentGitGate `yaml:"git-gate" json:"git-gate,omitempty"`

	// Prompt is the body after the frontmatter, verbatim; PromptLine is
	// the line it starts on.
	Prompt     string `yaml:"-" json:"-"`
	PromptLine int    `yaml:"-" json:"-"`

	At       Location            `yaml:"-" json:"-"`
	KeyAt    map[string]Location `yaml:"-" json:"-"`
	SkillsAt []Location          `yaml:"-" json:"-"`
}

// AgentGitGate is what an agent may say about its bottle's git gate: the
// identity its commits carry, which overlays the bottle's per field. The
// gate's repositories carry credentials and are the bottle's alone.
type AgentGitGate struct {
	User *AgentGitUser `yaml:"user" json:"user,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// AgentGitUser is an agent's commit identity.
type AgentGitUser struct {
	Name  string `yaml:"name" json:"name,omitempty"`
	Email string `yaml:"email" json:"email,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// Bounds of what an agent brings into a bottle. An agent file is read
// whole; skills are copied file by file, within these totals.
const (
	MaxAgentSize      = 256 << 10 // one agent file
	MaxAgentSkills    = 64        // skills one agent names
	MaxSkillFileSize  = 1 << 20   // one file of a skill
	MaxSkillsBytes    = 8 << 20   // every file of every skill of one agent
	MaxSkillEntries   = 1000      // files and folders of every skill of one agent
	MaxSkillDepth     = 8         // folders below a skill's own
	MaxSkillDescChars = 1024      // a SKILL.md description (Codex refuses longer)
)

// bottleOnlyKeys are the keys of a bottle, with what they are, that an
// agent file may not carry.
var bottleOnlyKeys = map[string]string{
	"extends":        "bottle inheritance",
	"agent_provider": "the agent CLI and its provider credentials",
	"env":            "the agent's environment",
	"egress":         "what the agent may reach, and with which credentials",
	"workdir":        "which protected workdir paths are writable",
	"dlp":            "what the proxy does with secrets in requests",
	"resources":      "the bottle's process, memory and CPU bounds",
}

// Compiled on first use: a bounded repetition compiles into that many
// copies, and every bot-bottle process (each bottle's init among them)
// paid for them at start.
var skillNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`) })

// CheckSkillName reports why name cannot name a skill, or "" when it can:
// the Agent Skills rule (lower-case letters, digits and single hyphens, at
// most 64, no hyphen at either end), which makes it a safe folder name.
func CheckSkillName(name string) string {
	if !skillNameRe().MatchString(name) || strings.Contains(name, "--") {
		return "a skill name uses lower-case letters, digits and single hyphens (at most 64), and starts and ends with a letter or digit"
	}
	return ""
}

// ParseAgent decodes and validates one agent file. fromRepo says whether
// it came from a repository, which only changes how a refusal is worded:
// no agent may carry a bottle's keys. Every broken rule is reported at
// once, as Errors.
func ParseAgent(file string, src []byte, fromRepo bool) (*Agent, error) {
	if len(src) > MaxAgentSize {
		return nil, Errors{{At: Location{File: file}, Msg: fmt.Sprintf("file is larger than %d bytes", MaxAgentSize)}}
	}
	if !strings.EqualFold(fileExt(file), ".md") {
		return nil, Errors{{At: Location{File: file}, Msg: "an agent file is Markdown and ends in .md"}}
	}
	fm, first, body, bodyLine, err := splitFrontmatter(src, "agent")
	if err != nil {
		return nil, Errors{{At: Location{File: file, Line: 1, Col: 1}, Msg: err.Error()}}
	}
	a := &Agent{Prompt: string(body), PromptLine: bodyLine}
	root, err := parseYAML(file, fm, first-1, "an agent")
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, Errors{{At: Location{File: file, Line: first, Col: 1}, Key: "bottle",
			Msg: "an agent needs bottle: the name of a bottle in the home", Hint: "bottle: claude-base"}}
	}
	d := &nodeDecoder{file: file, lineOffset: first - 1}
	a.At = d.loc(root) // where "bottle is missing" points, even when the mapping fails to decode
	d.dropBottleKeys(root, fromRepo)
	d.decode(root, reflect.ValueOf(a).Elem(), "")
	errs := mergeErrors(d.errs, a.validate(file, bodyLine))
	for _, e := range errs {
		e.Key = ShowPath(e.Key) // a key is the file's text: an unknown one may carry anything
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

func fileExt(file string) string {
	if i := strings.LastIndexByte(file, '.'); i >= 0 && !strings.ContainsAny(file[i:], `/\`) {
		return file[i:]
	}
	return ""
}

// dropBottleKeys refuses, and removes before decoding, the bottle keys an
// agent file carries (and git-gate.repos), with a message that says where
// they belong instead of "unknown key".
func (d *nodeDecoder) dropBottleKeys(root *yaml.Node, fromRepo bool) {
	who := "an agent"
	if fromRepo {
		who = "a repository agent"
	}
	where := "put it in the agent's bottle"
	if fromRepo {
		where = "bottles live only in the home's bottles folder; a repository cannot define one"
	}
	keep := root.Content[:0:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if what, ok := bottleOnlyKeys[k.Value]; ok && k.Kind == yaml.ScalarNode {
			d.fail(k, k.Value, fmt.Sprintf("%s cannot set %s (%s): that is its bottle's", who, k.Value, what), where)
			continue
		}
		if k.Value == "git-gate" && v.Kind == yaml.MappingNode {
			d.dropGitRepos(v, who)
		}
		keep = append(keep, k, v)
	}
	root.Content = keep
}

func (d *nodeDecoder) dropGitRepos(gg *yaml.Node, who string) {
	keep := gg.Content[:0:0]
	for i := 0; i+1 < len(gg.Content); i += 2 {
		k := gg.Content[i]
		if k.Value == "repos" {
			d.fail(k, "git-gate.repos", who+" cannot add git-gate repos: they carry credentials, and are its bottle's",
				"an agent may set git-gate.user only")
			continue
		}
		keep = append(keep, k, gg.Content[i+1])
	}
	gg.Content = keep
}

// validate checks the rules one agent file must satisfy on its own;
// whether its bottle and skills exist is the planner's to check.
func (a *Agent) validate(file string, bodyLine int) Errors {
	var errs Errors
	add := func(at Location, key, msg, hint string) {
		errs = append(errs, &Error{At: at, Key: key, Msg: msg, Hint: hint})
	}
	if at, ok := a.KeyAt["bottle"]; !ok {
		add(a.At, "bottle", "an agent needs bottle: the name of a bottle in the home", "bottle: claude-base")
	} else if why := CheckBottleName(a.Bottle); why != "" {
		add(at, "bottle", why, "")
	}
	if len(a.Skills) > MaxAgentSkills {
		add(a.KeyAt["skills"], "skills", fmt.Sprintf("more than %d skills", MaxAgentSkills), "")
	}
	seen := map[string]int{}
	for i, s := range a.Skills {
		at, key := itemAt(a.SkillsAt, i, a.KeyAt["skills"]), fmt.Sprintf("skills[%d]", i)
		if why := CheckSkillName(s); why != "" {
			add(at, key, why, "")
		} else if j, dup := seen[s]; dup {
			add(at, key, fmt.Sprintf("skill %q is named twice (first as skills[%d])", s, j), "")
		} else {
			seen[s] = i
		}
	}
	if g := a.GitGate; g != nil {
		errs = append(errs, g.validate()...)
	} else if at, ok := a.KeyAt["git-gate"]; ok {
		add(at, "git-gate", "is empty", "give user: {name, email}, or remove it")
	}
	if !utf8.ValidString(a.Prompt) || strings.ContainsRune(a.Prompt, 0) {
		add(Location{File: file, Line: bodyLine, Col: 1}, "", "the prompt (the text after the frontmatter) must be UTF-8 text without NUL bytes", "")
	}
	return errs
}

func (g *AgentGitGate) validate() Errors {
	if g.User == nil {
		if at, ok := g.KeyAt["user"]; ok {
			return Errors{{At: at, Key: "git-gate.user", Msg: "is empty", Hint: "give name and email, or remove it"}}
		}
		return Errors{{At: g.At, Key: "git-gate", Msg: "is empty", Hint: "give user: {name, email}, or remove it"}}
	}
	// The same identity rules as a bottle's git-gate.user (the same
	// fields, so the same checks).
	return (*GitUser)(g.User).validate()
}

// CheckAgentName reports why name cannot name an agent, or "" when it can:
// agent names follow bottle names (a file name, never a path).
func CheckAgentName(name string) string {
	if why := CheckBottleName(name); why != "" {
		return strings.ReplaceAll(strings.ReplaceAll(why, "bottle name", "agent name"), "bottles folder", "agents folder")
	}
	return ""
}
