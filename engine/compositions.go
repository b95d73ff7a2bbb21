package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"baton/composition"
	"baton/model"
	"baton/plugin"
)

// compCache keeps parsed, validated compositions by name and version; a
// stored version never changes, so entries never go stale.
type compCache struct {
	store Store
	cat   *plugin.Registry
	mu    sync.Mutex
	m     map[string]*composition.Composition
}

const compCacheSize = 512

func newCompCache(store Store, cat *plugin.Registry) *compCache {
	return &compCache{store: store, cat: cat, m: map[string]*composition.Composition{}}
}

// get returns a version of a composition; version 0 means the current one.
func (c *compCache) get(ctx context.Context, name string, version int) (*composition.Composition, int, error) {
	var v model.CompositionVersion
	var err error
	if version == 0 {
		v, err = c.store.GetComposition(ctx, name)
	} else {
		key := fmt.Sprintf("%s@%d", name, version)
		c.mu.Lock()
		comp, ok := c.m[key]
		c.mu.Unlock()
		if ok {
			return comp, version, nil
		}
		v, err = c.store.GetCompositionVersion(ctx, name, version)
	}
	if errors.Is(err, model.ErrNotFound) {
		return nil, 0, &NotFoundError{What: "composition", Name: name}
	}
	if err != nil {
		return nil, 0, err
	}
	key := fmt.Sprintf("%s@%d", name, v.Version)
	c.mu.Lock()
	comp, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return comp, v.Version, nil
	}
	comp, err = composition.Load(name+".yaml", []byte(v.Source), c.cat)
	if err != nil {
		return nil, 0, &InvalidError{What: fmt.Sprintf("composition %s (version %d) no longer validates", name, v.Version), Err: err}
	}
	c.mu.Lock()
	if len(c.m) >= compCacheSize {
		clear(c.m)
	}
	c.m[key] = comp
	c.mu.Unlock()
	return comp, v.Version, nil
}

// NotFoundError says a named thing a request refers to does not exist.
type NotFoundError struct {
	What string // "composition", "run", "task"
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.What, e.Name) }

// Is makes NotFoundError match model.ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == model.ErrNotFound }

// InvalidError says input did not validate; Err holds the details
// (composition.Problems or []composition.FieldError).
type InvalidError struct {
	What string
	Err  error
}

func (e *InvalidError) Error() string { return e.What + ":\n" + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// ParamsError lists every parameter of a run request that does not fit.
type ParamsError struct {
	Composition string
	Errors      []composition.FieldError
}

func (e *ParamsError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return fmt.Sprintf("parameters of %s do not fit: %s", e.Composition, strings.Join(msgs, "; "))
}

// StateError says an action does not fit the current state of a run or
// task (approving a task that is not waiting, cancelling a finished run).
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

// SaveComposition validates source and stores it as the composition's next
// version. When name is given it must match the name inside the source.
// Invalid source returns an *InvalidError and stores nothing.
func (e *Engine) SaveComposition(ctx context.Context, name string, source []byte, author, message string) (model.CompositionVersion, bool, error) {
	c, err := e.loadForSave(name, source)
	if err != nil {
		return model.CompositionVersion{}, false, err
	}
	v, created, err := e.store.SaveComposition(ctx, c.Name, string(source), author, message)
	if err == nil {
		e.setSchedules(c.Name, c)
	}
	return v, created, err
}

// SaveCompositionFrom is SaveComposition for someone who edited version
// base (0 for a new composition): when another version was saved in
// between, nothing is stored and the store's stale error comes back, so
// two people editing one composition never overwrite each other.
func (e *Engine) SaveCompositionFrom(ctx context.Context, name string, source []byte, author, message string, base int) (model.CompositionVersion, bool, error) {
	c, err := e.loadForSave(name, source)
	if err != nil {
		return model.CompositionVersion{}, false, err
	}
	v, created, err := e.store.SaveCompositionIf(ctx, c.Name, string(source), author, message, base)
	if err == nil {
		e.setSchedules(c.Name, c)
	}
	return v, created, err
}

// DeleteComposition deletes a composition (its versions and runs stay) and
// stops its schedules.
func (e *Engine) DeleteComposition(ctx context.Context, name string) error {
	if err := e.store.DeleteComposition(ctx, name); err != nil {
		return err
	}
	e.setSchedules(name, nil)
	return nil
}

// loadSchedules makes the schedules of every stored composition active, at
// start.
func (e *Engine) loadSchedules(ctx context.Context) error {
	versions, err := e.store.ListCompositions(ctx)
	if err != nil {
		return fmt.Errorf("engine: load schedules: %w", err)
	}
	for _, v := range versions {
		c, err := e.CompositionVersion(ctx, v.Name, v.Version)
		if err != nil {
			if strings.Contains(v.Source, "schedules:") {
				e.log.Warn("composition does not validate any more; its schedules are not active", "composition", v.Name, "version", v.Version, "err", err)
			}
			continue
		}
		e.setSchedules(v.Name, c)
	}
	return nil
}

// loadForSave validates source and, when name is given, that the source
// has that name.
func (e *Engine) loadForSave(name string, source []byte) (*composition.Composition, error) {
	file := name + ".yaml"
	if name == "" {
		file = "composition.yaml"
	}
	c, err := composition.Load(file, source, e.cat)
	if err != nil {
		return nil, &InvalidError{What: "composition is not valid", Err: err}
	}
	if name != "" && c.Name != name {
		pos := c.Pos["name"]
		p := composition.Problems{{File: file, Line: pos.Line, Col: pos.Col,
			Message: fmt.Sprintf("name %q does not match %q in the URL; change one of them", c.Name, name)}}
		return nil, &InvalidError{What: "composition is not valid", Err: p}
	}
	return c, nil
}

// Composition returns the current version of a stored composition, parsed.
func (e *Engine) Composition(ctx context.Context, name string) (*composition.Composition, int, error) {
	return e.comps.get(ctx, name, 0)
}

// CompositionVersion returns one version of a stored composition, parsed.
func (e *Engine) CompositionVersion(ctx context.Context, name string, version int) (*composition.Composition, error) {
	c, _, err := e.comps.get(ctx, name, version)
	return c, err
}

// RunRequest asks for a run of a composition.
type RunRequest struct {
	Composition string
	Params      map[string]any
	Trigger     string // who or what asks, shown with the run
	ParentRunID int64  // set by composition tasks
	ParentTask  string
}

// prepare builds a queued run and its pending tasks, validating params.
func (e *Engine) prepare(ctx context.Context, req RunRequest) (model.NewRun, error) {
	comp, version, err := e.comps.get(ctx, req.Composition, 0)
	if err != nil {
		return model.NewRun{}, err
	}
	params, ferrs := comp.BindParams(req.Params)
	if len(ferrs) > 0 {
		return model.NewRun{}, &ParamsError{Composition: comp.Name, Errors: ferrs}
	}
	r := &model.Run{
		Composition: comp.Name, Version: version, Params: params, Status: model.RunQueued,
		Trigger: req.Trigger, ParentRunID: req.ParentRunID, ParentTask: req.ParentTask,
		CreatedAt: time.Now(), QueueReason: "waiting for the scheduler",
	}
	tasks := make([]*model.TaskRun, len(comp.Tasks))
	for i, t := range comp.Tasks {
		tasks[i] = &model.TaskRun{TaskID: t.ID, Status: model.TaskPending}
	}
	return model.NewRun{Run: r, Tasks: tasks}, nil
}

// StartRun creates a queued run; the queue loop starts it as soon as the
// composition's concurrency allows. Bad params return a *ParamsError, an
// unknown composition a *NotFoundError; nothing is stored then.
func (e *Engine) StartRun(ctx context.Context, req RunRequest) (*model.Run, error) {
	nr, err := e.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	stopping := e.stopping
	e.mu.Unlock()
	if stopping {
		return nil, errStopping
	}
	if err := e.store.CreateRun(ctx, nr.Run, nr.Tasks); err != nil {
		return nil, err
	}
	c := cloneRun(nr.Run)
	e.enqueue(nr.Run)
	return c, nil
}

// enqueue hands stored queued runs to the queue loop, which owns them from
// then on, and wakes it.
func (e *Engine) enqueue(runs ...*model.Run) {
	for _, r := range runs {
		e.publishRun(r)
	}
	e.mu.Lock()
	e.queue = append(e.queue, runs...)
	e.mu.Unlock()
	e.poke()
}
