package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"baton/composition"
)

// Registry is the set of task types a server or agent knows: the built-in
// types and those of the plugins loaded into it. It is the catalog
// compositions are validated against and it runs work tasks.
//
// A Registry is safe for concurrent use: lookups and runs may go on while
// plugins are added.
type Registry struct {
	// Grace is how long the processes of a cancelled task get between
	// SIGTERM and SIGKILL; zero means DefaultGrace. Set it before the first
	// Run.
	Grace time.Duration
	// WaitDelay bounds how long a process task's output is still read after
	// its process exited while a process it left in the background holds
	// the output open; zero means DefaultWaitDelay. Set it before the first
	// Run.
	WaitDelay time.Duration
	// HTTP runs http tasks.
	HTTP HTTPRunner
	// Env decides what of this process's environment process tasks
	// inherit; nil means DefaultTaskEnv. Set it before the first Run.
	Env *EnvPolicy

	scratch Scratch // small files of task attempts

	mu       sync.RWMutex
	builtins []*TaskType
	types    map[string]*TaskType
	plugins  map[string]*Plugin // by name
	byHash   map[string]*Plugin
}

var _ composition.Catalog = (*Registry)(nil)

// NewRegistry returns a registry holding the built-in task types: shell and
// http (group Basics) and the control types approval, composition, wait and
// sleep (group Flow).
func NewRegistry() *Registry {
	r := &Registry{
		builtins: builtinTypes(),
		types:    make(map[string]*TaskType),
		plugins:  make(map[string]*Plugin),
		byHash:   make(map[string]*Plugin),
	}
	for _, t := range r.builtins {
		r.types[t.Name] = t
	}
	return r
}

// Add adds a plugin's task types. It refuses, adding nothing, a plugin whose
// name is already loaded or one with a task type name already taken.
func (r *Registry) Add(p *Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.plugins[p.Name]; ok {
		return fmt.Errorf("plugin %s (%s): a plugin of that name is already loaded from %s; remove one of them", p.Name, p.Dir, old.Dir)
	}
	var errs []error
	for _, t := range p.Tasks {
		old, ok := r.types[t.Name]
		switch {
		case ok && old.Plugin == nil:
			errs = append(errs, fmt.Errorf("plugin %s (%s): task type %s is built in; give the plugin's task another name", p.Name, p.Dir, t.Name))
		case ok:
			errs = append(errs, fmt.Errorf("plugin %s (%s): task type %s is already taken by plugin %s (%s)", p.Name, p.Dir, t.Name, old.Plugin.Name, old.Plugin.Dir))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, t := range p.Tasks {
		r.types[t.Name] = t
	}
	r.plugins[p.Name] = p
	if p.Hash != "" {
		r.byHash[p.Hash] = p
	}
	return nil
}

// LoadDir loads and adds every plugin in dir, one per immediate
// subdirectory that holds a plugin.yaml, in name order. A missing dir holds
// no plugins. One broken plugin does not stop the others: the good ones are
// added and returned, and the problems of all the others are joined in the
// error.
func (r *Registry) LoadDir(dir string) ([]*Plugin, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	var loaded []*Plugin
	var errs []error
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if info, err := os.Stat(sub); err != nil || !info.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(sub, ManifestFile)); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("plugin %s: %w", sub, err))
			}
			continue
		}
		p, err := LoadPlugin(sub)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.Add(p); err != nil {
			errs = append(errs, err)
			continue
		}
		loaded = append(loaded, p)
	}
	return loaded, errors.Join(errs...)
}

// TaskType returns the spec of the named task type.
func (r *Registry) TaskType(name string) (*composition.TypeSpec, bool) {
	t, ok := r.Lookup(name)
	if !ok {
		return nil, false
	}
	return &t.TypeSpec, true
}

// TaskTypes returns the specs of every task type: the built-ins first, then
// the plugins' by plugin name, each plugin's in manifest order. The specs
// are shared; callers must not change them.
func (r *Registry) TaskTypes() []*composition.TypeSpec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*composition.TypeSpec, 0, len(r.types))
	for _, t := range r.builtins {
		out = append(out, &t.TypeSpec)
	}
	for _, p := range r.sortedPlugins() {
		for _, t := range p.Tasks {
			out = append(out, &t.TypeSpec)
		}
	}
	return out
}

// Lookup returns the named task type with what it takes to run it.
func (r *Registry) Lookup(name string) (*TaskType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Plugins returns the loaded plugins by name.
func (r *Registry) Plugins() []*Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sortedPlugins()
}

// PluginByHash returns the loaded plugin whose content hash is hash.
func (r *Registry) PluginByHash(hash string) (*Plugin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byHash[hash]
	return p, ok
}

// sortedPlugins lists the plugins by name; r.mu must be held.
func (r *Registry) sortedPlugins() []*Plugin {
	out := make([]*Plugin, 0, len(r.plugins))
	for _, p := range r.plugins {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Plugin) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Run runs one work task with the runner of its type: shell, http or a
// plugin's command. Every non-empty value in job.Secrets is replaced by ***
// in the lines sink receives and in the result's error. A control type or
// an unknown type ends at once with an error.
func (r *Registry) Run(ctx context.Context, job Job, sink Sink) Result {
	m := newMasker(job.Secrets)
	if m != nil {
		sink = m.sink(sink)
	}
	runner, err := r.runner(job.Type)
	if err != nil {
		return Result{Err: err}
	}
	res := runner.Run(ctx, job, sink)
	if m != nil {
		res.Err = m.err(res.Err)
	}
	return res
}

// runner returns the runner for a task type.
func (r *Registry) runner(typeName string) (Runner, error) {
	t, ok := r.Lookup(typeName)
	switch {
	case !ok:
		return nil, fmt.Errorf("unknown task type %q: it is not built in and no loaded plugin provides it (is the plugin installed on this machine?)", typeName)
	case t.Control:
		return nil, fmt.Errorf("%s is a control task type: the engine handles it, there is nothing to run", typeName)
	case t.Plugin != nil:
		return &CommandRunner{Task: t, Grace: r.Grace, WaitDelay: r.WaitDelay, Scratch: &r.scratch, Env: r.Env}, nil
	case t.Name == "shell":
		return &ShellRunner{Grace: r.Grace, WaitDelay: r.WaitDelay, Scratch: &r.scratch, Env: r.Env}, nil
	case t.Name == "http":
		return &r.HTTP, nil
	}
	return nil, fmt.Errorf("task type %s has no runner", typeName)
}

// Close removes the registry's scratch directory. Call it once no task runs.
func (r *Registry) Close() error {
	return r.scratch.Close()
}
