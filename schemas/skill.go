package schemas

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SkillFile is the file every skill folder holds: its metadata in YAML
// frontmatter (name, description) and its instructions below.
const SkillFile = "SKILL.md"

// Skill is what bot-bottle reads of a skill's SKILL.md: the name and
// description that the agent CLI lists for the model. The rest of the
// file, and the skill's other files, are the skill's own: copied into the
// bottle as they are, never interpreted on the host. Other frontmatter
// keys (license, allowed-tools, metadata, ...) are the CLIs' to read.
type Skill struct {
	Name        string
	Description string
}

// ParseSkill reads the metadata of the SKILL.md of the skill folder dir.
// The frontmatter must be a mapping with a description (at most
// MaxSkillDescChars) and, when it has a name, the folder's: the CLIs list
// a skill by that name, and Codex refuses a longer description.
func ParseSkill(file, dir string, src []byte) (*Skill, error) {
	offset := 0 // lines above the frontmatter's YAML
	fail := func(n *yaml.Node, key, msg, hint string) error {
		at := Location{File: file, Line: 1, Col: 1}
		if n != nil {
			at.Line, at.Col = n.Line+offset, n.Column
		}
		return Errors{{At: at, Key: key, Msg: msg, Hint: hint}}
	}
	if !utf8.Valid(src) {
		return nil, fail(nil, "", "is not UTF-8 text", "")
	}
	fm, first, _, _, err := splitFrontmatter(src, "skill")
	if err != nil {
		return nil, fail(nil, "", err.Error(), "a SKILL.md starts with ---, name and description, and ---")
	}
	offset = first - 1
	root, err := parseYAML(file, fm, offset, "a skill's frontmatter")
	if err != nil {
		return nil, err
	}
	s := &Skill{Name: dir}
	var desc *yaml.Node
	if root != nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			switch k.Value {
			case "name":
				if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || v.Value != dir {
					return nil, fail(v, "name", fmt.Sprintf("must be the skill folder's name, %q", dir), "")
				}
			case "description":
				if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || strings.TrimSpace(v.Value) == "" {
					return nil, fail(v, "description", "must be a non-empty string: the model reads it to decide when to use the skill", "")
				}
				desc = v
			}
		}
	}
	if desc == nil {
		return nil, fail(root, "description", "a skill needs a description: the model reads it to decide when to use the skill", "")
	}
	if n := utf8.RuneCountInString(desc.Value); n > MaxSkillDescChars {
		return nil, fail(desc, "description", fmt.Sprintf("is %d characters, more than %d", n, MaxSkillDescChars), "")
	}
	s.Description = desc.Value
	return s, nil
}
