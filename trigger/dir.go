package trigger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"baton/composition"
)

// ParseDir parses every *.yaml and *.yml file directly in dir, in name
// order, with Parse. It returns the triggers that have no problems, and the
// problems of all files as composition.Problems (nil when there are none).
// A name used by an earlier file, even a broken one, is a problem of the
// later one, which is then left out. A directory that does not exist holds no triggers and is
// no error; one that cannot be read is.
func ParseDir(dir string, getenv func(string) (string, bool)) ([]*Trigger, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trigger: read %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	type place struct {
		file string
		line int
	}
	var (
		out   []*Trigger
		probs composition.Problems
		seen  = map[string]place{}
	)
	for _, name := range names {
		file := filepath.Join(dir, name)
		src, err := os.ReadFile(file)
		if err != nil {
			probs = append(probs, composition.Problem{File: file, Message: fmt.Sprintf("cannot read the file: %v", err)})
			continue
		}
		t, ps := Parse(file, src, getenv)
		probs = append(probs, ps...)
		if t == nil || t.Name == "" {
			continue
		}
		pos := t.Pos["name"]
		if first, dup := seen[t.Name]; dup {
			probs = append(probs, composition.Problem{
				File: file, Line: pos.Line, Col: pos.Col,
				Message: fmt.Sprintf("trigger name %s is already used by %s:%d; give each trigger its own name (it is the hook URL /hooks/<name>)",
					quote(t.Name), first.file, first.line),
			})
			continue
		}
		// A broken file keeps its name too, so fixing it later brings no
		// surprise clash.
		seen[t.Name] = place{file, pos.Line}
		if len(ps) == 0 {
			out = append(out, t)
		}
	}
	return out, probs.Err()
}
