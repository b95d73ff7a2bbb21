package composition

import (
	"fmt"
	"slices"
	"strings"
)

// CheckCompositions returns a warning for each place c names another
// composition by a literal name that is not in known: a task's field that
// names a composition (FieldSpec.NamesComposition: the composition a
// composition task runs, the one a wait task waits for) and
// on_failure.composition. c's own name counts as known. where completes
// "which ..." in the warnings, saying where known comes from ("is not
// stored yet", "is not among the files of examples/"). A name holding
// ${{ }} is decided when the run gets there and is not checked, and
// neither are the fields of task types the catalog does not have.
//
// These are warnings, not Problems of Validate: where the check runs
// decides what known holds (the compositions stored on a server, the files
// beside one), and a composition may be saved after one that calls it, so
// a name missing now may exist by the time a run needs it. Each warning
// carries the Path of the value it is about.
func CheckCompositions(c *Composition, cat Catalog, known []string, where string) Problems {
	if c == nil {
		return nil
	}
	l := &problemList{file: c.File}
	missing := func(name string) bool {
		return name != "" && !HasExpr(name) && name != c.Name && !slices.Contains(known, name)
	}
	hint := func(name string) string {
		candidates := slices.Clone(known)
		if c.Name != "" {
			candidates = append(candidates, c.Name)
		}
		if s := suggest(name, candidates); s != "" {
			return fmt.Sprintf("; did you mean %q?", s)
		}
		return ""
	}
	if cat != nil {
		for i, t := range c.Tasks {
			spec, ok := cat.TaskType(t.Type)
			if !ok || spec == nil {
				continue
			}
			for _, f := range spec.Fields {
				name, _ := t.With[f.Name].(string)
				name = strings.TrimSpace(name)
				if !f.NamesComposition || !missing(name) {
					continue
				}
				path := taskPath(i) + ".with." + f.Name
				l.addPath(path, c.Pos[path], "%s (type %s) names composition %q in %s, which %s: "+
					"fix the name, or add that composition before a run gets there%s", taskLabel(i, t.ID), t.Type, name, f.Name, where, hint(name))
			}
		}
	}
	if c.OnFailure != nil && missing(strings.TrimSpace(c.OnFailure.Composition)) {
		name := strings.TrimSpace(c.OnFailure.Composition)
		path := "on_failure.composition"
		pos, ok := c.Pos[path]
		if !ok {
			pos = c.Pos["on_failure"]
		}
		l.addPath(path, pos, "on_failure names composition %q, which %s: "+
			"fix the name, or add that composition before a run fails%s", name, where, hint(name))
	}
	l.probs.Sort()
	return l.probs
}
