package composition

import (
	"maps"
	"strings"
)

// TaskState is what expressions see of a task of the run: tasks.<id>.status
// and tasks.<id>.outputs. A skipped task has Status "skipped" and no outputs.
type TaskState struct {
	Status  string
	Outputs map[string]any
}

// RunInfo is what expressions see of the run itself: run.id,
// run.composition, run.status and run.error.
type RunInfo struct {
	ID          int64
	Composition string
	Status      string
	Error       string
}

// AgentInfo is what expressions see of the executor a work task runs on:
// agent.name ("local" for the server itself), agent.facts, agent.labels
// (the reported ones with an operator's on top) and agent.pools.
type AgentInfo struct {
	Name   string
	Facts  map[string]any
	Labels map[string]string
	Pools  []string
}

// WithAgent returns a copy of env (from NewEnv) in which agent is known too.
// Only the fields of a work task see it: the executor is chosen just before
// the task starts, after its if and requires have been evaluated.
func WithAgent(env map[string]any, a AgentInfo) map[string]any {
	out := make(map[string]any, len(env)+1)
	maps.Copy(out, env)
	facts := make(map[string]any, len(a.Facts))
	maps.Copy(facts, a.Facts)
	labels := make(map[string]any, len(a.Labels))
	for k, v := range a.Labels {
		labels[k] = v
	}
	pools := make([]any, len(a.Pools))
	for i, p := range a.Pools {
		pools[i] = p
	}
	out["agent"] = map[string]any{"name": a.Name, "facts": facts, "labels": labels, "pools": pools}
	return out
}

// NewEnv builds the environment expressions are evaluated in (see Resolve).
//
// Context keys are flat dotted strings ("cloud.instances"); the environment
// presents them nested, so context.cloud.instances works. When a key is both
// a value and the prefix of other keys ("cloud" and "cloud.region"), the
// nested map wins and the value of the shorter key is not visible; the engine
// refuses such writes (see ContextConflict), so this only happens with
// contexts built by hand.
//
// Every task in tasks has its outputs map, empty when the task has none.
// Tasks and params missing from the maps evaluate to nil.
func NewEnv(params map[string]any, tasks map[string]TaskState, ctx map[string]string, run RunInfo) map[string]any {
	ps := make(map[string]any, len(params))
	maps.Copy(ps, params)
	ts := make(map[string]any, len(tasks))
	for id, st := range tasks {
		outputs := make(map[string]any, len(st.Outputs))
		maps.Copy(outputs, st.Outputs)
		ts[id] = map[string]any{"status": st.Status, "outputs": outputs}
	}
	return map[string]any{
		"params":  ps,
		"tasks":   ts,
		"context": nestContext(ctx),
		"run": map[string]any{
			"id":          run.ID,
			"composition": run.Composition,
			"status":      run.Status,
			"error":       run.Error,
		},
	}
}

// nestContext turns flat dotted keys into nested maps. Keys are handled in
// sorted order, so the result does not depend on map order.
func nestContext(ctx map[string]string) map[string]any {
	root := map[string]any{}
	for _, key := range sortedKeys(ctx) {
		parts := strings.Split(key, ".")
		m := root
		for _, part := range parts[:len(parts)-1] {
			next, ok := m[part].(map[string]any)
			if !ok {
				// A value here is shadowed by the longer key.
				next = map[string]any{}
				m[part] = next
			}
			m = next
		}
		last := parts[len(parts)-1]
		if _, isMap := m[last].(map[string]any); isMap {
			continue // the prefix map wins over the value
		}
		m[last] = ctx[key]
	}
	return root
}

// ContextConflict reports whether setting key would clash with an existing
// key of ctx that is its dotted prefix ("cloud" when setting "cloud.region")
// or extends it ("cloud.region" when setting "cloud"); such a pair cannot be
// presented as nested maps. Setting an existing key again is no conflict.
// When several keys clash, the first in sorted order is returned.
func ContextConflict(ctx map[string]string, key string) (other string, conflict bool) {
	for _, k := range sortedKeys(ctx) {
		if k == key {
			continue
		}
		if strings.HasPrefix(k, key+".") || strings.HasPrefix(key, k+".") {
			return k, true
		}
	}
	return "", false
}
