package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"baton/composition"
	"baton/model"
	"baton/trigger"
)

// SaveTrigger checks a trigger's source (named name, from author, with a
// message saying why) and stores it as the trigger's next version, then
// makes the stored triggers the active set. A source that does not
// validate is an *InvalidError with its problems, and nothing is stored.
// A secret: of exactly "[redacted]" (as pages and the API show a literal
// secret) keeps the secret of the version it replaces. When the source is
// the current version's, nothing is written and created is false.
func (e *Engine) SaveTrigger(ctx context.Context, name string, src []byte, author, message string) (model.TriggerVersion, bool, error) {
	return e.saveTrigger(ctx, name, src, author, message, nil)
}

// SaveTriggerFrom is SaveTrigger for someone who edited version base (0
// for a new trigger): when another version was saved in between, or the
// trigger was deleted, nothing is stored and the error is the store's
// *TriggerStaleError, so two people editing one trigger never overwrite
// each other. An empty name takes the name inside the source.
func (e *Engine) SaveTriggerFrom(ctx context.Context, name string, src []byte, author, message string, base int) (model.TriggerVersion, bool, error) {
	return e.saveTrigger(ctx, name, src, author, message, &base)
}

func (e *Engine) saveTrigger(ctx context.Context, name string, src []byte, author, message string, base *int) (model.TriggerVersion, bool, error) {
	t, final, err := e.checkTrigger(ctx, name, src)
	if err != nil {
		return model.TriggerVersion{}, false, err
	}
	var (
		v       model.TriggerVersion
		created bool
	)
	if base == nil {
		v, created, err = e.store.SaveTrigger(ctx, t.Name, string(final), author, message)
	} else {
		v, created, err = e.store.SaveTriggerIf(ctx, t.Name, string(final), author, message, *base)
	}
	if err != nil {
		return v, false, err
	}
	return v, created, e.ReloadTriggers(ctx)
}

// CheckTriggerSource checks a trigger's source exactly as SaveTrigger
// would, storing nothing: the trigger, or an *InvalidError with every
// problem at its line and column. An empty name takes the name inside.
func (e *Engine) CheckTriggerSource(ctx context.Context, name string, src []byte) (*trigger.Trigger, error) {
	t, _, err := e.checkTrigger(ctx, name, src)
	return t, err
}

// checkTrigger parses and checks src as the trigger named name (the name
// inside when name is empty) and returns it with the source to store: src,
// with a kept secret put back.
func (e *Engine) checkTrigger(ctx context.Context, name string, src []byte) (*trigger.Trigger, []byte, error) {
	file := name + ".yaml"
	if name == "" {
		file = "trigger.yaml"
	}
	t, probs := trigger.Parse(file, src, os.LookupEnv)
	if len(probs) == 0 && name != "" && t.Name != name {
		pos := t.Pos["name"]
		probs = append(probs, composition.Problem{File: t.File, Line: pos.Line, Col: pos.Col,
			Message: fmt.Sprintf("name %q does not match %q in the URL; change one of them", t.Name, name)})
	}
	if len(probs) == 0 {
		switch {
		case t.KeepsSecret():
			src, probs = e.keepSecret(ctx, t, src)
			if len(probs) == 0 {
				t, probs = trigger.Parse(file, src, os.LookupEnv)
			}
		case t.SecretEnv == "" && strings.Contains(t.Secret, trigger.RedactedSecret):
			pos := t.Pos["secret"]
			probs = append(probs, composition.Problem{File: t.File, Line: pos.Line, Col: pos.Col, Message: fmt.Sprintf(
				"secret holds %s, which stands for a hidden secret: give exactly %s to keep the stored secret, or write the secret itself",
				trigger.RedactedSecret, strconv.Quote(trigger.RedactedSecret))})
		}
	}
	if len(probs) > 0 {
		return t, nil, &InvalidError{What: "trigger is not valid", Err: probs}
	}
	if err := CheckTrigger(t); err != nil {
		return t, nil, &InvalidError{What: "trigger is not valid", Err: err}
	}
	return t, src, nil
}

// keepSecret puts the stored literal secret of t's trigger into src, whose
// secret: says to keep it.
func (e *Engine) keepSecret(ctx context.Context, t *trigger.Trigger, src []byte) ([]byte, composition.Problems) {
	cur, err := e.store.GetTrigger(ctx, t.Name)
	if err != nil {
		if !errors.Is(err, model.ErrNotFound) {
			pos := t.Pos["secret"]
			return nil, composition.Problems{{File: t.File, Line: pos.Line, Col: pos.Col,
				Message: "the stored secret could not be read to keep it (" + err.Error() + "); try again"}}
		}
		return trigger.PutSecret(src, t, nil, nil)
	}
	old, _ := trigger.Parse(t.File, []byte(cur.Source), os.LookupEnv)
	return trigger.PutSecret(src, t, []byte(cur.Source), old)
}

// DeleteTrigger removes a stored trigger (its versions and events stay)
// and makes the rest the active set. A composition's schedule is not a
// stored trigger: removing it is a *StateError saying where it lives.
func (e *Engine) DeleteTrigger(ctx context.Context, name string) error {
	if t, ok := e.Trigger(name); ok && t.Owner != "" {
		return &StateError{Msg: fmt.Sprintf("trigger %s is a schedule of composition %s; remove it from that composition's schedules: (the editor's Settings tab)", t.Name, t.Owner)}
	}
	if err := e.store.DeleteTrigger(ctx, name); err != nil {
		return err
	}
	return e.ReloadTriggers(ctx)
}

// LoadTriggerDir stores the valid trigger files of dir (author "file") and
// makes the stored triggers the active set. As with composition files, a
// file is stored when it differs from what was last loaded from a file: a
// trigger changed since in the UI or through the API keeps that change
// across restarts until its file changes again, and one deleted since
// stays deleted. Invalid files are logged with their problems and
// skipped; a stored trigger they would replace stays. An empty dir loads
// nothing.
func (e *Engine) LoadTriggerDir(ctx context.Context, dir string) error {
	if dir != "" {
		ts, err := trigger.ParseDir(dir, os.LookupEnv)
		if err != nil {
			e.log.Error("some triggers were not loaded: fix them and restart", "dir", dir, "problems", err.Error())
		}
		for _, t := range ts {
			if err := e.loadTriggerFile(ctx, t); err != nil {
				return err
			}
		}
	}
	return e.ReloadTriggers(ctx)
}

// loadTriggerFile stores one parsed trigger file, unless the policy of
// LoadTriggerDir keeps what is stored. Only a store that fails is an error.
func (e *Engine) loadTriggerFile(ctx context.Context, t *trigger.Trigger) error {
	_, src, err := e.checkTrigger(ctx, t.Name, t.Source)
	if err != nil {
		e.log.Error("trigger not loaded: fix the file and restart, or save it in the UI", "file", t.File, "problems", err.Error())
		return nil
	}
	versions, err := e.store.ListTriggerVersions(ctx, t.Name)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return err
	}
	i := slices.IndexFunc(versions, func(v model.TriggerVersion) bool { return v.Author == fileAuthor })
	unchanged := i >= 0 && versions[i].Source == string(src)
	deleted := false
	if len(versions) > 0 {
		if _, err := e.store.GetTrigger(ctx, t.Name); errors.Is(err, model.ErrNotFound) {
			deleted = true
		} else if err != nil {
			return err
		}
	}
	switch {
	case deleted && unchanged:
		e.log.Info("trigger deleted since its file was loaded; the file is unchanged, so it stays deleted (change the file, or save it in the UI, to bring it back)",
			"trigger", t.Name, "file", t.File)
		return nil
	case deleted:
		e.log.Info("trigger file changed since the trigger was deleted: loading it again", "trigger", t.Name, "file", t.File)
	case unchanged && i > 0:
		e.log.Info("trigger file unchanged; keeping the newer version saved since", "trigger", t.Name, "file", t.File,
			"version", versions[0].Version, "saved_by", versions[0].Author)
		return nil
	case i != 0 && len(versions) > 0 && versions[0].Source != string(src):
		e.log.Warn("trigger file changed: it replaces the version saved since, which stays in the history", "trigger", t.Name, "file", t.File,
			"replaced_version", versions[0].Version, "saved_by", versions[0].Author)
	}
	v, created, err := e.store.SaveTrigger(ctx, t.Name, string(src), fileAuthor, "loaded from "+t.File)
	if err != nil {
		return err
	}
	if created {
		e.log.Info("trigger loaded", "trigger", t.Name, "kind", t.Kind, "file", t.File, "version", v.Version)
	}
	return nil
}

// ReloadTriggers makes the stored triggers the active set; those that do
// not validate stay inactive, are logged and listed by TriggerProblems.
func (e *Engine) ReloadTriggers(ctx context.Context) error {
	sources, err := e.store.ListTriggers(ctx)
	if err != nil {
		return err
	}
	for _, p := range e.LoadTriggers(sources) {
		e.log.Error("trigger not active: fix it on its page in the UI, or PUT it through the API", "trigger", p.Name, "problems", p.Err.Error())
	}
	return nil
}
