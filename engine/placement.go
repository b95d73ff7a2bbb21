package engine

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"

	"baton/composition"
)

// candidate is an executor a run might go to, as placement sees it.
type candidate struct {
	exec   Executor
	name   string
	local  bool
	pools  []string
	labels map[string]string
	facts  map[string]any
	slots  int
	used   int
}

// candidates lists the executors that may take new work now: the local
// executor (when it has slots) and every connected, enabled agent that is
// not draining.
func (e *Engine) candidates() []candidate {
	var out []candidate
	if l, ok := e.local.(*Local); ok && l.Slots() > 0 {
		out = append(out, candidate{exec: l, name: "local", local: true, facts: e.localFacts, slots: l.Slots(), used: l.Used()})
	}
	e.hub.mu.Lock()
	for _, a := range e.hub.agents {
		if !a.usableLocked() {
			continue
		}
		out = append(out, candidate{exec: a.exec, name: a.info.Name, pools: a.info.AllPools(), labels: a.info.AllLabels(),
			facts: a.info.Facts, slots: a.info.Slots, used: a.used})
	}
	e.hub.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// fits reports whether a candidate meets a composition's requirements.
func fits(req *composition.Requires, c candidate) bool {
	if req == nil {
		return true
	}
	if req.Local != nil && !*req.Local && c.local {
		return false
	}
	if req.Pool != "" && !slices.Contains(c.pools, req.Pool) {
		return false
	}
	for k, v := range req.Labels {
		if c.labels[k] != v {
			return false
		}
	}
	if req.Facts != "" {
		ok, err := composition.EvalBool(req.Facts, map[string]any{"facts": c.facts})
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// describe says in words what a run waits for.
func describe(req *composition.Requires) string {
	if req == nil {
		return "an executor"
	}
	var parts []string
	if req.Pool != "" {
		parts = append(parts, "in pool "+req.Pool)
	}
	if len(req.Labels) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(req.Labels)) {
			kv = append(kv, k+"="+req.Labels[k])
		}
		parts = append(parts, "with labels "+strings.Join(kv, ", "))
	}
	if req.Facts != "" {
		parts = append(parts, fmt.Sprintf("whose facts match `%s`", req.Facts))
	}
	what := "an agent"
	if req.Local == nil || *req.Local {
		what = "an executor"
	}
	if len(parts) == 0 {
		return what
	}
	return what + " " + strings.Join(parts, " ")
}

// place picks where a run goes and takes a slot there for its first task:
// among the executors that fit and have a free slot, the one that last ran
// this composition successfully (its workspace is warm), else the least
// loaded. When none can take it, the reason says why, in words.
// warm names the executor of the composition's last successful run.
func (e *Engine) place(req *composition.Requires, exclude, warm string) (Executor, string) {
	var fitting, free []candidate
	for _, c := range e.candidates() {
		if c.name == exclude || !fits(req, c) {
			continue
		}
		fitting = append(fitting, c)
		if c.used < c.slots {
			free = append(free, c)
		}
	}
	if len(fitting) == 0 {
		return nil, fmt.Sprintf("waiting for %s: none is online", describe(req))
	}
	sort.SliceStable(free, func(i, j int) bool {
		if (free[i].name == warm) != (free[j].name == warm) {
			return free[i].name == warm
		}
		return free[i].used*free[j].slots < free[j].used*free[i].slots
	})
	for _, c := range free {
		if c.exec.TryAcquire() {
			return c.exec, ""
		}
	}
	names := make([]string, len(fitting))
	for i, c := range fitting {
		names[i] = c.name
	}
	return nil, fmt.Sprintf("waiting for a free slot on %s (all busy)", strings.Join(names, ", "))
}

// gatherLocalFacts describes the server's own machine, for `requires.facts`.
func gatherLocalFacts() map[string]any {
	host, _ := os.Hostname()
	return map[string]any{"os": runtime.GOOS, "arch": runtime.GOARCH, "hostname": host, "cpus": float64(runtime.NumCPU())}
}

// meets reports whether an executor, as it is now, meets requirements.
func (e *Engine) meets(req *composition.Requires, exec Executor) bool {
	for _, c := range e.candidates() {
		if c.name == exec.Name() {
			return fits(req, c)
		}
	}
	return false
}

// resolveRequires evaluates the expressions requirements may hold in their
// pool and label values.
func resolveRequires(req *composition.Requires, env func() map[string]any) (*composition.Requires, error) {
	if req == nil || (!composition.HasExpr(req.Pool) && !labelsHaveExpr(req.Labels)) {
		return req, nil
	}
	out := *req
	pool, err := composition.ResolveLazy(req.Pool, env)
	if err != nil {
		return nil, fmt.Errorf("requires.pool: %w", err)
	}
	out.Pool = composition.FormatValue(pool)
	out.Labels = make(map[string]string, len(req.Labels))
	for k, v := range req.Labels {
		rv, err := composition.ResolveLazy(v, env)
		if err != nil {
			return nil, fmt.Errorf("requires.labels.%s: %w", k, err)
		}
		out.Labels[k] = composition.FormatValue(rv)
	}
	return &out, nil
}

func labelsHaveExpr(m map[string]string) bool {
	for _, v := range m {
		if composition.HasExpr(v) {
			return true
		}
	}
	return false
}
