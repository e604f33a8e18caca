package schemas

// Where an agent or a skill was found.
const (
	FromHome       = "home"       // $BOT_BOTTLE_HOME/agents or /skills: the operator's
	FromRepository = "repository" // <repository>/.bot-bottle/: the repository's, untrusted
)

// AgentPlan is the agent a plan runs (`launch --agent`): where it came
// from, its prompt and skills by source and size, and where each lands in
// the agent's home. It carries no text of the prompt or the skills but a
// short flattened excerpt and descriptions: the files themselves are read
// at planning and written at launch (Files, Instructions), never shown or
// sent whole.
type AgentPlan struct {
	Name string `json:"name"`
	// Origin is FromHome or FromRepository; File is the agent file.
	Origin string `json:"origin"`
	File   string `json:"file"`
	// Repository is the folder whose .bot-bottle/ repository agents and
	// skills were looked for in ("" when the plan had no workdir).
	Repository string      `json:"repository,omitempty"`
	Prompt     PromptPlan  `json:"prompt"`
	Skills     []SkillPlan `json:"skills"`
	// SkillsDir is where the agent CLI reads skills, relative to the
	// agent's home; the launch empties it and writes the agent's skills.
	SkillsDir string `json:"skills_dir"`
	// GitUser is the commit identity the agent sets over its bottle's.
	GitUser *GitUserPlan `json:"git_user,omitempty"`

	// Instructions is the delimited prompt block appended to the
	// template's instructions file (Prompt.Into); Files are the skills'
	// files. Neither travels in the plan's JSON.
	Instructions string      `json:"-"`
	Files        []AgentFile `json:"-"`
}

// PromptPlan describes an agent's system prompt without its text: where it
// starts, its size and digest, a flattened excerpt, and the file of the
// agent's home it is appended to.
type PromptPlan struct {
	Source  string `json:"source"` // file:line where the body starts
	Bytes   int    `json:"bytes"`
	Lines   int    `json:"lines"`
	SHA256  string `json:"sha256"`
	Excerpt string `json:"excerpt,omitempty"`
	Into    string `json:"into"`
}

// SkillPlan is one skill of an agent: its folder, where it was found, its
// description as the model will read it (flattened, bounded), its size,
// and where it lands in the agent's home.
type SkillPlan struct {
	Name        string `json:"name"`
	Origin      string `json:"origin"`
	Source      string `json:"source"`
	Description string `json:"description"`
	Files       int    `json:"files"`
	Bytes       int64  `json:"bytes"`
	Into        string `json:"into"`
}
