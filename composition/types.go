// Package composition owns the composition file format: its types,
// decoding from the YAML tree of package yamltree (which keeps line and
// column), validation against a catalog of task types, parameter binding,
// and the ${{ }} expressions that may stand in any string. It imports only
// yamltree of ours.
package composition

import (
	"time"

	"baton/yamltree"
)

// Composition is a parsed composition file.
type Composition struct {
	Name string
	// Project is the project the composition belongs to (project: in the
	// file); "" is DefaultProject. Permissions and secrets are granted
	// per project.
	Project     string
	Description string  // markdown
	Params      []Param // in file order
	Concurrency int     // at most this many active runs; 0 means no limit
	Timeout     time.Duration
	Workspace   Workspace
	OnFailure   *Call
	Requires    *Requires // where the run's work tasks may go; nil means anywhere
	// Schedules start runs of the composition at cron times.
	Schedules []Schedule
	// Outputs maps a run output name to a value (usually an expression). When
	// empty, a run's outputs are the outputs of its succeeded tasks merged in
	// task order.
	Outputs map[string]any
	Tasks   []*Task
	Source  []byte // the file as given
	File    string // file name used in problems

	Pos Positions // where keys were found, for problems and the editor
}

// Positions maps a dotted key path ("tasks.2.with.url", "params.version") to
// where its value starts in the source.
type Positions map[string]Pos

// Pos is a place in a source file; Line and Col count from 1. It is the
// position type of package yamltree, so that positions pass between the
// YAML reader, compositions and triggers unchanged.
type Pos = yamltree.Pos

// Param is one typed input of a composition.
type Param struct {
	Name        string
	Type        FieldType // string, number, boolean or list
	Required    bool
	Default     any // nil when none
	Enum        []any
	Description string
}

// Workspace says how a run's working directory is prepared.
type Workspace struct {
	Clean bool // every run starts in an empty workspace
}

// Call names a composition to start, with parameters that may hold expressions.
type Call struct {
	Composition string
	Params      map[string]any
}

// Schedule starts runs of a composition at the times of a cron schedule,
// with fixed params.
type Schedule struct {
	Cron     string // five fields, @daily, @every 90m
	Timezone string // IANA name; empty means UTC
	Params   map[string]any
	CatchUp  bool // after downtime, one run for the latest time missed
	Overlap  bool // start even while a run it started is still active
}

// Requires says which executors may run work: a pool, labels that must match,
// an expression over the machine's facts, and whether the server's own local
// executor may be used.
type Requires struct {
	Pool   string
	Labels map[string]string
	Facts  string // an expression, e.g. `facts.os == "linux"`
	Local  *bool  // false: never the server's local executor
}

// Task is one step of a composition.
type Task struct {
	ID              string
	Name            string // display name; empty means ID
	Type            string // "shell" when the file gave only `run:`
	Run             string // the script of a shell task (also in With["run"])
	With            map[string]any
	Needs           []string // resolved: an omitted `needs` means the task listed before
	NeedsGiven      bool     // the file had an explicit `needs:` key
	If              string   // empty means always
	Env             map[string]string
	Timeout         time.Duration
	Retries         int
	RetryDelay      time.Duration
	ContinueOnError bool
	// Always: the task still runs after the run has failed or been
	// cancelled, once its needs have ended (cleanup such as deprovision).
	Always   bool
	Requires *Requires
	Index    int // position in Tasks
}

// FieldType is the type of a task field or a composition parameter.
type FieldType string

// The field types. Text is a multi-line string; secret is a string the UI
// masks and logs redact; map is string keys to string values; duration is a
// Go duration such as 90s or 1h30m.
const (
	TypeString   FieldType = "string"
	TypeText     FieldType = "text"
	TypeNumber   FieldType = "number"
	TypeBoolean  FieldType = "boolean"
	TypeList     FieldType = "list"
	TypeMap      FieldType = "map"
	TypeSecret   FieldType = "secret"
	TypeDuration FieldType = "duration"
)

// FieldSpec describes one field of a task type, as a manifest declares it.
type FieldSpec struct {
	Name        string
	Type        FieldType
	Required    bool
	Default     any // may be a string holding an expression, e.g. "${{ context.cloud.instances }}"
	Enum        []any
	Description string // markdown
	// Check, when set, checks a literal value (one without an expression)
	// once it has the field's type: validation reports what the task
	// would fail on at run time.
	Check func(v any) error `json:"-"`
	// NamesComposition marks a field whose value is the name of a
	// composition, which the task runs or waits for: CheckCompositions
	// warns when none of that name is known.
	NamesComposition bool `json:"-"`
}

// TypeSpec describes a task type: a built-in or one task of a plugin.
type TypeSpec struct {
	Name        string
	Description string // markdown
	Group       string // palette group: "Basics", "Flow", or the plugin's name
	Icon        string // short icon name for the editor
	Control     bool   // handled by the engine itself (approval, composition, wait, sleep)
	// InProcess types run inside the server without a process of their
	// own (http); like control types, a task's env does not reach them.
	InProcess bool
	Fields    []FieldSpec
	// Exports lists context keys the type sets, so the editor can say which
	// task a defaulted field inherits from.
	Exports []string
	// CheckWith, when set, checks the fields together (such as "exactly
	// one of"); it sees every given field, expressions unresolved.
	CheckWith func(with map[string]any) error `json:"-"`
}

// Field returns the spec of the named field.
func (t *TypeSpec) Field(name string) (*FieldSpec, bool) {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i], true
		}
	}
	return nil, false
}

// Catalog is the set of task types a composition may use.
type Catalog interface {
	TaskType(name string) (*TypeSpec, bool)
	TaskTypes() []*TypeSpec
}

// DefaultProject is the project of a composition whose file names none.
const DefaultProject = "default"

// ProjectName is the composition's project, DefaultProject when it names
// none.
func (c *Composition) ProjectName() string {
	if c.Project == "" {
		return DefaultProject
	}
	return c.Project
}
