// Package editor is the document model of the composition editor. A Doc
// holds a composition's YAML; the editor's actions (arranging tasks in rows,
// adding and removing tasks, changing a task's keys and fields, the
// composition's settings and params) change its model, and the YAML becomes
// composition.FormatKeeping of the result, so what the editor saves is
// canonical and keeps the comments people wrote.
//
// It does no HTTP and no HTML: the web UI posts each action with the page's
// current YAML and what its forms hold; the server opens a Doc on the YAML,
// reads the action with DecodeEdit, applies it with Apply (or, on a save,
// ApplyPending) and renders Source, Problems and Rows. The names of the
// actions (Op) and of the page's inputs (InputName, RowPrefix) are defined
// here, and the server hands them to the views.
//
// A Doc is not safe for concurrent use; each request opens its own.
package editor

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"baton/composition"
)

// Doc is a composition being edited: its source and, when it parses, the
// model and its problems.
type Doc struct {
	cat   composition.Catalog
	src   []byte
	comp  *composition.Composition
	probs composition.Problems
	// lost holds the parse problems whose text the model does not keep
	// (an unknown key, a value of the wrong kind). Editing through the model
	// would drop that text, so edits are refused until the YAML is fixed.
	lost composition.Problems
	// known holds the compositions that exist, once KnowCompositions has
	// been told them; nil means nothing is known and nothing is checked.
	known []string
}

// Open reads a composition's YAML. It never fails: a document that cannot be
// read keeps its source and its problems, and Composition returns nil.
// Problems carry no file name; their lines and columns are in Source. cat
// may be nil, which skips the checks of task types and fields.
func Open(src []byte, cat composition.Catalog) *Doc {
	d := &Doc{cat: cat}
	d.load(src)
	return d
}

// load makes src the document's source and reads it again.
func (d *Doc) load(src []byte) {
	d.src = src
	c, probs := composition.Parse("", src)
	d.comp, d.lost = c, nil
	if c != nil {
		d.lost = lostProblems(c, probs)
		probs = append(probs, composition.Validate(c, d.cat)...)
	}
	probs.Sort()
	d.probs = probs
}

// Source returns the YAML to show and keep: the text as given to Open or
// ReplaceSource until an edit, and composition.FormatKeeping of the model
// (with the comments of the text before the edit) after any edit.
func (d *Doc) Source() []byte { return d.src }

// Composition returns the model, or nil when the YAML cannot be read at all.
// It belongs to the Doc: change it only through the Doc's edits.
func (d *Doc) Composition() *composition.Composition { return d.comp }

// Problems returns the problems of parsing and validating the source, sorted,
// with lines and columns in Source.
func (d *Doc) Problems() composition.Problems { return d.probs }

// KnowCompositions tells the document which compositions exist (a server's
// stored ones), so that Warnings can name the compositions it calls that do
// not. Until it is called, Warnings checks nothing.
func (d *Doc) KnowCompositions(names []string) {
	d.known = append([]string{}, names...)
}

// KnownCompositions returns the compositions KnowCompositions was told,
// for the form to offer as the names a task may call.
func (d *Doc) KnownCompositions() []string { return d.known }

// Warnings returns what may go wrong but does not stop a save: the
// compositions the document names that are not stored yet
// (composition.CheckCompositions), sorted, each with the Path of its value.
func (d *Doc) Warnings() composition.Problems {
	if d.known == nil || d.comp == nil {
		return nil
	}
	return composition.CheckCompositions(d.comp, d.cat, d.known, "is not stored yet")
}

// ReplaceSource takes the text of the YAML tab as it is, even when it has
// problems, as Open does.
func (d *Doc) ReplaceSource(src []byte) { d.load(src) }

// Editable returns nil when the editor's actions can change the document,
// and otherwise an error for people saying what to fix in the YAML first:
// the YAML cannot be read, or it holds text the model cannot keep (an
// unknown key, a value of the wrong kind), which an edit would drop.
// Problems that the model keeps (a bad name, an unknown task type, a
// missing field) do not stop edits.
func (d *Doc) Editable() error {
	if d.comp == nil {
		first := "it is not a composition"
		if len(d.probs) > 0 {
			first = problemText(d.probs[0])
		}
		return fmt.Errorf("the YAML cannot be read (%s); fix it in the YAML tab first", first)
	}
	if len(d.lost) > 0 {
		parts := make([]string, len(d.lost))
		for i, p := range d.lost {
			parts[i] = problemText(p)
		}
		return fmt.Errorf("the editor would drop YAML it cannot read: %s; fix this in the YAML tab first", strings.Join(parts, "; "))
	}
	return nil
}

// problemText formats a problem without its (empty) file name.
func problemText(p composition.Problem) string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d:%d: %s", p.Line, p.Col, p.Message)
}

// edit applies fn to a fresh copy of the model and, when fn succeeds, makes
// the canonical YAML of the result the document's source. On error the
// document is unchanged.
func (d *Doc) edit(fn func(c *composition.Composition) error) error {
	if err := d.Editable(); err != nil {
		return err
	}
	// Parsing the source again gives a deep copy that fn may change freely.
	c, _ := composition.Parse("", d.src)
	tasks := slices.Clone(c.Tasks)
	schedules := slices.Clone(c.Schedules)
	if err := fn(c); err != nil {
		return err
	}
	for i, t := range c.Tasks {
		t.Index = i
	}
	// Comments follow their tasks, which fn may have moved, renamed or
	// removed, and their schedules.
	comments := composition.ReadComments(d.src).
		MoveItems("tasks", moved(tasks, c.Tasks, func(a, b *composition.Task) bool { return a == b })).
		MoveItems("schedules", moved(schedules, c.Schedules, func(a, b composition.Schedule) bool { return reflect.DeepEqual(a, b) }))
	out, err := composition.FormatKeeping(c, comments)
	if err != nil {
		return fmt.Errorf("editor: write the composition: %w", err)
	}
	d.load(out)
	return nil
}

// moved maps each index of before to the index of the same item in after,
// or -1 when it is gone. When the list kept its length, an item found
// nowhere was changed in place and keeps its index.
func moved[T any](before, after []T, same func(a, b T) bool) []int {
	to := make([]int, len(before))
	taken := make([]bool, len(after))
	for i, a := range before {
		to[i] = -1
		for j, b := range after {
			if !taken[j] && same(a, b) {
				to[i], taken[j] = j, true
				break
			}
		}
	}
	if len(before) == len(after) {
		for i := range to {
			if to[i] < 0 && !taken[i] {
				to[i], taken[i] = i, true
			}
		}
	}
	return to
}

// lostProblems returns the parse problems about text that the model does
// not hold. It formats the model and parses the result: a problem that the
// original text had and the formatted text no longer has was about
// something Format could not write, so the model lost it. Problems about
// something absent (an empty file, missing tasks, an empty name or id) are
// not losses even though Format words them differently.
func lostProblems(c *composition.Composition, probs composition.Problems) composition.Problems {
	if len(probs) == 0 {
		return nil
	}
	out, err := composition.Format(c)
	if err != nil {
		return probs
	}
	_, again := composition.Parse("", out)
	left := map[string]int{}
	for _, p := range again {
		left[p.Message]++
	}
	var lost composition.Problems
	for _, p := range probs {
		switch {
		case left[p.Message] > 0:
			left[p.Message]--
		case aboutAbsence(p.Message):
		default:
			lost = append(lost, p)
		}
	}
	return lost
}

// aboutAbsence reports whether a parse problem is about something missing or
// empty, which Format cannot lose.
func aboutAbsence(msg string) bool {
	return strings.HasPrefix(msg, "missing ") || strings.Contains(msg, " is empty") || strings.Contains(msg, " has an empty ")
}
