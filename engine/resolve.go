package engine

import (
	"fmt"
	"sort"

	"baton/composition"
	"baton/plugin"
)

// resolveFields computes a task's field values: what `with:` gives, else
// the manifest's default (which may be an expression over the context,
// so a deprovision task inherits what provision left), each evaluated and
// coerced to the field's type. It also returns the values of secret
// fields, which logs mask. env is called only if a value holds an
// expression.
func resolveFields(cat *plugin.Registry, task *composition.Task, env func() map[string]any) (map[string]any, []string, error) {
	tt, ok := cat.Lookup(task.Type)
	if !ok {
		return nil, nil, fmt.Errorf("unknown task type %q", task.Type)
	}
	given := task.With
	if task.Type == "shell" && task.Run != "" {
		given = make(map[string]any, len(task.With)+1)
		for k, v := range task.With {
			given[k] = v
		}
		given["run"] = task.Run
	}
	out := make(map[string]any, len(tt.Fields))
	var secrets []string
	for i := range tt.Fields {
		f := &tt.Fields[i]
		v, ok := given[f.Name]
		if !ok {
			v = f.Default
		}
		if v == nil {
			if f.Required {
				return nil, nil, fmt.Errorf("field %q is required and has no value", f.Name)
			}
			continue
		}
		rv, err := composition.ResolveLazy(v, env)
		if err != nil {
			return nil, nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		if rv == nil || rv == "" {
			if f.Required {
				if !ok {
					return nil, nil, fmt.Errorf("field %q is required; its default %v gave nothing (set it in `with:`)", f.Name, f.Default)
				}
				return nil, nil, fmt.Errorf("field %q is required but %v gave nothing", f.Name, v)
			}
			if rv == nil {
				continue
			}
		}
		cv, err := f.Coerce(rv)
		if err != nil {
			return nil, nil, err
		}
		out[f.Name] = cv
		if f.Type == composition.TypeSecret {
			if s, _ := cv.(string); s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	if tt.CheckWith != nil {
		if err := tt.CheckWith(out); err != nil {
			return nil, nil, err
		}
	}
	return out, secrets, nil
}

// resolveEnv evaluates a task's `env:` entries. Passing values through
// the environment is the safe way to give them to a shell script: they
// are not parsed as shell text.
func resolveEnv(env map[string]string, exprEnv func() map[string]any) (map[string]string, error) {
	if len(env) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(env))
	for _, k := range keys {
		v, err := composition.ResolveLazy(env[k], exprEnv)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", k, err)
		}
		out[k] = composition.FormatValue(v)
	}
	return out, nil
}
