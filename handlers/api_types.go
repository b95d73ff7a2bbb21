package handlers

import (
	"time"

	"baton/composition"
	"baton/model"
)

// The JSON shapes of the API. They are separate from the model so the wire
// format changes only on purpose.

type runJSON struct {
	ID          int64          `json:"id"`
	Composition string         `json:"composition"`
	Version     int            `json:"version"`
	Status      string         `json:"status"`
	Error       string         `json:"error,omitempty"`
	Ending      string         `json:"ending,omitempty"`
	QueueReason string         `json:"queue_reason,omitempty"`
	Trigger     string         `json:"trigger,omitempty"`
	ParentRunID int64          `json:"parent_run_id,omitempty"`
	ParentTask  string         `json:"parent_task,omitempty"`
	RetryOf     int64          `json:"retry_of,omitempty"`
	Retries     []int64        `json:"retries,omitempty"` // one run's detail: the runs that retry it
	Params      map[string]any `json:"params"`
	Context     map[string]any `json:"context,omitempty"`
	Outputs     map[string]any `json:"outputs,omitempty"`
	Agent       string         `json:"agent,omitempty"`
	Workspace   string         `json:"workspace,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	StartedAt   *time.Time     `json:"started_at,omitempty"`
	FinishedAt  *time.Time     `json:"finished_at,omitempty"`
	DurationMS  int64          `json:"duration_ms"`
	LogLines    *int64         `json:"log_lines,omitempty"`
	Tasks       []taskJSON     `json:"tasks,omitempty"`
}

type taskJSON struct {
	ID         string         `json:"id"`
	Type       string         `json:"type,omitempty"`
	Status     string         `json:"status"`
	Attempt    int            `json:"attempt"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	Error      string         `json:"error,omitempty"`
	Agent      string         `json:"agent,omitempty"`
	ChildRunID int64          `json:"child_run_id,omitempty"`
	KeptFrom   int64          `json:"kept_from,omitempty"`
	Approval   *approvalJSON  `json:"approval,omitempty"`
	StartedAt  *time.Time     `json:"started_at,omitempty"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	DurationMS int64          `json:"duration_ms"`
}

type approvalJSON struct {
	Message  string     `json:"message"`
	Decision string     `json:"decision,omitempty"`
	By       string     `json:"by,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Comment  string     `json:"comment,omitempty"`
}

type logLineJSON struct {
	Seq    int64     `json:"seq"`
	Task   string    `json:"task,omitempty"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
}

type compositionJSON struct {
	Name        string      `json:"name"`
	Version     int         `json:"version"`
	Description string      `json:"description,omitempty"`
	Author      string      `json:"author,omitempty"`
	Message     string      `json:"message,omitempty"`
	SavedAt     time.Time   `json:"saved_at"`
	Params      []paramJSON `json:"params,omitempty"`
	Tasks       []string    `json:"tasks,omitempty"`
	Invalid     string      `json:"invalid,omitempty"` // why the stored source no longer validates
	// Warnings, in the answer to a save, are what may go wrong but did not
	// stop it: a call to a composition that is not stored yet.
	Warnings []detail `json:"warnings,omitempty"`
}

type paramJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Default     any    `json:"default,omitempty"`
	Enum        []any  `json:"enum,omitempty"`
	Description string `json:"description,omitempty"`
}

type taskTypeJSON struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Group       string      `json:"group,omitempty"`
	Icon        string      `json:"icon,omitempty"`
	Control     bool        `json:"control,omitempty"`
	Exports     []string    `json:"exports,omitempty"`
	Fields      []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Default     any    `json:"default,omitempty"`
	Enum        []any  `json:"enum,omitempty"`
	Description string `json:"description,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toRunJSON(r *model.Run, now time.Time) runJSON {
	ctx := make(map[string]any, len(r.Context))
	for k, v := range r.Context {
		ctx[k] = v
	}
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	return runJSON{
		ID: r.ID, Composition: r.Composition, Version: r.Version, Status: string(r.Status), Error: r.Error,
		Ending: string(r.Ending), QueueReason: r.QueueReason, Trigger: r.Trigger, ParentRunID: r.ParentRunID, ParentTask: r.ParentTask, RetryOf: r.RetryOf,
		Params: params, Context: ctx, Outputs: r.Outputs, Agent: r.Agent, Workspace: r.Workspace,
		CreatedAt: r.CreatedAt, StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt),
		DurationMS: r.Duration(now).Milliseconds(),
	}
}

func toTaskJSON(t *model.TaskRun, typ string, now time.Time) taskJSON {
	j := taskJSON{ID: t.TaskID, Type: typ, Status: string(t.Status), Attempt: t.Attempt, Outputs: t.Outputs, Error: t.Error,
		Agent: t.Agent, ChildRunID: t.ChildRunID, KeptFrom: t.KeptFrom, StartedAt: timePtr(t.StartedAt), FinishedAt: timePtr(t.FinishedAt),
		DurationMS: t.Duration(now).Milliseconds()}
	if a := t.Approval; a != nil {
		j.Approval = &approvalJSON{Message: a.Message, Decision: string(a.Decision), By: a.By, At: timePtr(a.At), Comment: a.Comment}
	}
	return j
}

func toLogJSON(lines []model.LogLine) []logLineJSON {
	out := make([]logLineJSON, len(lines))
	for i, l := range lines {
		out[i] = logLineJSON{Seq: l.Seq, Task: l.TaskID, Stream: l.Stream.String(), Time: l.Time, Text: l.Text}
	}
	return out
}

func toCompositionJSON(v model.CompositionVersion, c *composition.Composition) compositionJSON {
	j := compositionJSON{Name: v.Name, Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt}
	if c == nil {
		return j
	}
	j.Description = c.Description
	for _, p := range c.Params {
		j.Params = append(j.Params, paramJSON{Name: p.Name, Type: string(p.Type), Required: p.Required, Default: p.Default, Enum: p.Enum, Description: p.Description})
	}
	for _, t := range c.Tasks {
		j.Tasks = append(j.Tasks, t.ID)
	}
	return j
}

func toTaskTypeJSON(t *composition.TypeSpec) taskTypeJSON {
	j := taskTypeJSON{Name: t.Name, Description: t.Description, Group: t.Group, Icon: t.Icon, Control: t.Control, Exports: t.Exports, Fields: []fieldJSON{}}
	for _, f := range t.Fields {
		j.Fields = append(j.Fields, fieldJSON{Name: f.Name, Type: string(f.Type), Required: f.Required, Default: f.Default, Enum: f.Enum, Description: f.Description})
	}
	return j
}
