package planner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// maxChainDepth bounds extends nesting; a deeper chain is almost certainly a
// mistake, and the bound keeps a hostile home from exhausting the stack.
const maxChainDepth = 32

// loader reads bottles from one folder and folds their extends chains,
// reading each file once.
type loader struct {
	dir    string
	files  map[string]*schemas.Manifest // by name
	paths  map[string]string            // name -> file
	folded map[string]*folded           // by name
	// inline, when set, is a manifest given by value (MCP's bottle_plan)
	// under the name inlineName; its parents still come from dir.
	inline     []byte
	inlineName string
}

func newLoader(dir string) *loader {
	return &loader{dir: dir, files: map[string]*schemas.Manifest{}, paths: map[string]string{}, folded: map[string]*folded{}}
}

// read parses the bottle called name.
func (l *loader) read(name string) (*schemas.Manifest, string, error) {
	if m, ok := l.files[name]; ok {
		return m, l.paths[name], nil
	}
	var (
		path string
		src  []byte
		err  error
	)
	if l.inline != nil && name == l.inlineName {
		path = "<inline>.yaml"
		src = l.inline
	} else {
		if path, err = findBottle(l.dir, name); err != nil {
			return nil, "", err
		}
		if src, err = os.ReadFile(path); err != nil {
			return nil, "", fmt.Errorf("read bottle %q: %w", name, err)
		}
	}
	m, err := schemas.ParseManifest(path, src)
	if err != nil {
		return nil, "", err
	}
	l.files[name], l.paths[name] = m, path
	return m, path, nil
}

// fold resolves name and its extends chain. stack holds the names being
// resolved, outermost first, to detect cycles and to show the chain in errors.
func (l *loader) fold(name string, stack []string) (*folded, error) {
	if f, ok := l.folded[name]; ok {
		return f, nil
	}
	m, path, err := l.read(name)
	if err != nil {
		return nil, err
	}
	stack = append(stack, name)
	acc := newFolded()
	for i, parent := range m.Extends {
		at := m.KeyAt["extends"]
		if i < len(m.ExtendsAt) {
			at = m.ExtendsAt[i]
		}
		key := fmt.Sprintf("extends[%d]", i)
		if len(stack) >= maxChainDepth {
			return nil, &schemas.Error{At: at, Key: key, Msg: fmt.Sprintf("extends chain is deeper than %d bottles: %s",
				maxChainDepth, strings.Join(append(stack, parent), " -> "))}
		}
		if parent == name {
			return nil, &schemas.Error{At: at, Key: key, Msg: fmt.Sprintf("bottle %q extends itself", name)}
		}
		for _, s := range stack {
			if s == parent {
				return nil, &schemas.Error{At: at, Key: key,
					Msg: "extends cycle: " + strings.Join(append(stack, parent), " -> ")}
			}
		}
		pf, err := l.fold(parent, stack)
		if err != nil {
			if errors.Is(err, ErrBottleNotFound) {
				return nil, &schemas.Error{At: at, Key: key,
					Msg:  fmt.Sprintf("parent bottle %q not found in %s (chain: %s)", parent, l.dir, strings.Join(append(stack, parent), " -> ")),
					Hint: "have: " + strings.Join(ListBottles(l.dir), ", ")}
			}
			if _, isManifest := schemas.AsErrors(err); isManifest {
				return nil, err
			}
			return nil, fmt.Errorf("%s: extends %q: %w", path, parent, err)
		}
		acc.absorb(pf)
	}
	acc.absorbManifest(m, filepath.Base(path))
	l.folded[name] = acc
	return acc, nil
}
