package engine

import (
	"context"
	"fmt"
	"os"

	"baton/composition"
	"baton/trigger"
)

// SaveTrigger checks a trigger's source (named name, from author), stores
// it as the trigger of that name and makes the stored triggers the active
// set. A source that does not validate is an *InvalidError with its
// problems, and nothing is stored. It reports whether the trigger is new.
func (e *Engine) SaveTrigger(ctx context.Context, name string, src []byte, author string) (bool, error) {
	t, probs := trigger.Parse(name+".yaml", src, os.LookupEnv)
	if len(probs) == 0 && t.Name != name {
		pos := t.Pos["name"]
		probs = append(probs, composition.Problem{File: t.File, Line: pos.Line, Col: pos.Col,
			Message: fmt.Sprintf("name %q does not match %q in the URL; change one of them", t.Name, name)})
	}
	if len(probs) > 0 {
		return false, &InvalidError{What: "trigger is not valid", Err: probs}
	}
	if err := CheckTrigger(t); err != nil {
		return false, &InvalidError{What: "trigger is not valid", Err: err}
	}
	created, err := e.store.SaveTrigger(ctx, name, string(src), author)
	if err != nil {
		return false, err
	}
	return created, e.ReloadTriggers(ctx)
}

// DeleteTrigger removes a stored trigger and makes the rest the active set.
// A composition's schedule is not a stored trigger: removing it is a
// *StateError saying where it lives.
func (e *Engine) DeleteTrigger(ctx context.Context, name string) error {
	if t, ok := e.Trigger(name); ok && t.Owner != "" {
		return &StateError{Msg: fmt.Sprintf("trigger %s is a schedule of composition %s; remove it from that composition's schedules: (the editor's Settings tab)", t.Name, t.Owner)}
	}
	if err := e.store.DeleteTrigger(ctx, name); err != nil {
		return err
	}
	return e.ReloadTriggers(ctx)
}

// LoadTriggerDir stores every valid trigger file of dir (author "file")
// and makes the stored triggers the active set. Invalid files are logged
// with their problems and skipped; a stored trigger they would replace
// stays. An empty dir loads nothing.
func (e *Engine) LoadTriggerDir(ctx context.Context, dir string) error {
	if dir != "" {
		ts, err := trigger.ParseDir(dir, os.LookupEnv)
		if err != nil {
			e.log.Error("some triggers were not loaded: fix them and restart", "dir", dir, "problems", err.Error())
		}
		for _, t := range ts {
			created, err := e.store.SaveTrigger(ctx, t.Name, string(t.Source), "file")
			if err != nil {
				return err
			}
			if created {
				e.log.Info("trigger loaded", "trigger", t.Name, "kind", t.Kind, "file", t.File)
			}
		}
	}
	return e.ReloadTriggers(ctx)
}

// ReloadTriggers makes the stored triggers the active set; those that do
// not validate stay inactive, are logged and listed by TriggerProblems.
func (e *Engine) ReloadTriggers(ctx context.Context) error {
	sources, err := e.store.ListTriggers(ctx)
	if err != nil {
		return err
	}
	for _, p := range e.LoadTriggers(sources) {
		e.log.Error("trigger not active: fix it, or PUT it through the API", "trigger", p.Name, "problems", p.Err.Error())
	}
	return nil
}
