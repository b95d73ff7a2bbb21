package handlers

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"baton/composition"
	"baton/model"
	"baton/storage"
	"baton/views/components"
	"baton/views/pages"
)

const runsPerPage = 50

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	m := pages.Runs{Layout: h.page(r, "Runs", "runs"), Now: time.Now(), Composition: q.Get("composition"), Status: q.Get("status")}
	for _, s := range model.RunStatuses {
		m.Statuses = append(m.Statuses, string(s))
	}
	f := storage.RunFilter{Composition: m.Composition, Limit: runsPerPage + 1}
	if m.Status != "" {
		st := model.RunStatus(m.Status)
		if !st.Valid() {
			h.fail(w, r, &badInput{fmt.Sprintf("%q is not a run status; use one of %s", m.Status, runStatusList())})
			return
		}
		f.Statuses = []model.RunStatus{st}
	}
	before, err := intParam(q.Get("before"), 0, 1<<62)
	if err != nil {
		h.fail(w, r, &badInput{"before: " + err.Error()})
		return
	}
	f.BeforeID = int64(before)
	runs, err := h.store.ListRuns(ctx, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(runs) > runsPerPage {
		runs = runs[:runsPerPage]
		m.NextBefore = runs[len(runs)-1].ID
	}
	m.Rows = runRows(runs, m.Now)
	comps, err := h.store.ListCompositions(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, c := range comps {
		m.Compositions = append(m.Compositions, c.Name)
	}
	h.render(w, r, http.StatusOK, pages.RunsPage(m))
}

// runModel reads everything the run page shows.
func (h *Handler) runModel(r *http.Request, id int64) (pages.Run, error) {
	ctx := r.Context()
	run, err := h.store.GetRun(ctx, id)
	if err != nil {
		return pages.Run{}, err
	}
	tasks, err := h.store.GetTasks(ctx, id)
	if err != nil {
		return pages.Run{}, err
	}
	lines, err := h.store.LogCount(ctx, id)
	if err != nil {
		return pages.Run{}, err
	}
	now := time.Now()
	m := pages.Run{
		Layout: h.page(r, fmt.Sprintf("Run #%d of %s", id, run.Composition), "runs"), Now: now,
		ID: run.ID, Name: run.Composition, Version: run.Version, Status: string(run.Status), Error: run.Error,
		Queue: run.QueueReason, Trigger: run.Trigger, Started: run.StartedAt, Took: run.Duration(now), Agent: run.Agent,
		Params: kvs(run.Params), Outputs: kvs(run.Outputs), Context: kvs(anyValues(run.Context)),
		CanCancel: !run.Status.Done(), Ending: string(run.Ending), Done: run.Status.Done(), LogLines: lines,
	}
	if run.ParentRunID != 0 {
		m.Parent = &pages.Parent{RunID: run.ParentRunID, Task: run.ParentTask}
	}
	comp, err := h.engine.CompositionVersion(ctx, run.Composition, run.Version)
	if err != nil {
		comp = nil // shown without types and graph edges
	}
	byID := map[string]*model.TaskRun{}
	for _, t := range tasks {
		byID[t.TaskID] = t
		m.TaskIDs = append(m.TaskIDs, t.TaskID)
		tv := pages.TaskView{ID: t.TaskID, Status: string(t.Status), Attempt: t.Attempt, Attempts: 1, Took: t.Duration(now),
			Error: t.Error, ChildRunID: t.ChildRunID, Agent: t.Agent, Outputs: kvs(t.Outputs)}
		if comp != nil {
			if ct := comp.Task(t.TaskID); ct != nil {
				tv.Type, tv.Attempts = ct.Type, 1+ct.Retries
			}
		}
		if a := t.Approval; a != nil {
			if a.Decision != "" {
				tv.Decision = fmt.Sprintf("%s by %s", a.Decision, a.By)
				if a.Comment != "" {
					tv.Decision += ": " + a.Comment
				}
			} else if t.Status == model.TaskWaiting {
				m.Approvals = append(m.Approvals, pages.ApprovalView{Task: t.TaskID, MessageHTML: markdown(a.Message)})
			}
		}
		m.Tasks = append(m.Tasks, tv)
	}
	m.Graph = runGraph(comp, tasks, byID, now)
	if err := h.addRetries(ctx, &m, run, tasks); err != nil {
		return pages.Run{}, err
	}
	return m, nil
}

// runGraph lays the run's tasks out by dependency depth; without the
// composition (it no longer validates) the tasks stand in one column.
func runGraph(comp *composition.Composition, tasks []*model.TaskRun, byID map[string]*model.TaskRun, now time.Time) components.Graph {
	node := func(id, typ string) components.GraphNode {
		n := components.GraphNode{ID: id, Label: id, Status: string(model.TaskPending), Meta: typ, Href: "#task-" + id}
		if t := byID[id]; t != nil {
			n.Status = string(t.Status)
			if d := t.Duration(now); d > 0 {
				n.Meta = components.Duration(d)
			}
		}
		return n
	}
	var g components.Graph
	if comp == nil {
		var col []components.GraphNode
		for _, t := range tasks {
			col = append(col, node(t.TaskID, ""))
		}
		g.Layers = [][]components.GraphNode{col}
		return g
	}
	for _, layer := range comp.Layers() {
		var col []components.GraphNode
		for _, t := range layer {
			typ := t.Type
			if t.Always {
				typ += " · always"
			}
			col = append(col, node(t.ID, typ))
			for _, need := range t.Needs {
				g.Edges = append(g.Edges, [2]string{need, t.ID})
			}
		}
		g.Layers = append(g.Layers, col)
	}
	return g
}

// kvs turns a map into sorted key-value rows.
func kvs(m map[string]any) []components.KV {
	out := make([]components.KV, 0, len(m))
	for k, v := range m {
		out = append(out, components.KV{Key: k, Value: valueText(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func anyValues(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func valueText(v any) string {
	return strings.TrimSpace(composition.FormatValue(v))
}
