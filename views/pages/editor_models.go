package pages

import "baton/views/layouts"

// EditorPage is the composition editor.
type EditorPage struct {
	Layout layouts.Page
	Ed     Editor
	Run    *RunForm // the run form of the saved composition; nil for a new one
}

// Editor is everything the editor shows; every action sends it back whole
// or in parts.
type Editor struct {
	Doc      string // the YAML, the editor's state
	Base     int    // the stored version being edited; 0 for a new composition
	Orig     string // the stored composition's name; "" for a new one
	Selected string // the task in the inspector
	Tab      string // "canvas", "yaml" or "settings"
	Name     string // the name in the YAML
	Dirty    bool   // differs from the stored version
	Error    string // what went wrong with the last action
	Notice   string
	// Blocked says why the canvas and forms cannot change the YAML now.
	Blocked     string
	Palette     []PaletteGroup
	Rows        [][]Card
	RowComplete bool
	Inspector   *Inspector
	Settings    Settings
	Problems    []EditorProblem
	// Warnings are what may go wrong but does not stop a save, such as a
	// call to a composition that does not exist yet.
	Warnings     []EditorProblem
	Conflict     *Conflict
	ProblemCount int
	Ops          EditorOps
}

// EditorOps are the names of the editor's actions that the page posts, as
// package editor defines them; editor.js reads the layout's from the
// canvas.
type EditorOps struct {
	Select, Layout, Add, Move, Duplicate, Remove string
	ParamAdd, Param, ParamRemove                 string
	ScheduleAdd, Schedule, ScheduleRemove        string
	YAML                                         string
}

// PaletteGroup is one group of task types in the palette.
type PaletteGroup struct {
	Name  string
	Types []PaletteType
}

// PaletteType is one task type to drag into the composition.
type PaletteType struct {
	Name    string
	Icon    string
	Summary string
}

// Card is one task on the canvas.
type Card struct {
	ID       string
	Label    string // the task's name, when it has one
	Type     string
	Icon     string
	Problems int
	Warnings int
	Selected bool
	Summary  string // a short view of what it does (the script's first line, the URL)
	Needs    string // its needs, when they differ from the whole row above
	Always   bool   // runs even after a failure or cancel
}

// Inspector is the form of the selected task.
type Inspector struct {
	ID          string
	Type        string
	Icon        string
	TypeHTML    string   // the type's description, as HTML
	Exports     []string // the context keys the type sets, for later tasks
	Unknown     bool     // the type is not installed: its fields cannot be set here
	Fields      []EditField
	TaskFields  []EditField
	Problems    []string // about the task as a whole
	Warnings    []string // about the task as a whole
	NeedOptions []NeedOption
}

// NeedOption is a task the selected task may need.
type NeedOption struct {
	ID      string
	Checked bool
}

// EditField is one input of the inspector or the settings. Op and Key are
// what the input posts ("field" and "url", "task" and "timeout",
// "setting" and "name"), Name the input's name, which holds its value.
type EditField struct {
	Op          string
	Key         string
	Name        string
	Label       string
	Kind        string // the input: text, textarea, code, number, duration, select, bool, list, map, secret, needs
	Type        string // the value's type, shown beside the label (string, text, number, ...)
	Value       string
	Options     []string
	Required    bool
	Placeholder string
	HelpHTML    string
	Inherited   string // the context key the value comes from when unset
	From        string // the task that sets that key
	Note        string
	Errors      []string
	Warnings    []string // do not stop a save
	Suggestions []string // values to offer as the input is typed (the stored compositions, for a field naming one)
}

// DOMID is the id of the field's input: its name.
func (f EditField) DOMID() string { return f.Name }

// MsgID is the id of the element holding the field's messages.
func (f EditField) MsgID() string { return "msg-" + f.Op + "-" + f.Key }

// Settings is the composition's own form.
type Settings struct {
	Fields      []EditField
	Params      []ParamRow
	Schedules   []ScheduleRow
	PreviewHTML string // the description rendered
	Errors      []string
	Warnings    []string
}

// ParamRow is one param in the settings. Its inputs are named Prefix and
// the key: name, type, required, default, enum, description.
type ParamRow struct {
	Index       int
	Prefix      string
	Name        string
	Type        string
	Required    bool
	Default     string
	Enum        string
	Description string
	Errors      []string
}

// ScheduleRow is one schedule in the settings. Its inputs are named Prefix
// and the key: cron, timezone, params, catch_up, overlap.
type ScheduleRow struct {
	Index    int
	Prefix   string
	Cron     string
	Timezone string
	Params   string // name=value lines
	CatchUp  bool
	Overlap  bool
	Next     string // when it fires next, or "" when it cannot
	Errors   []string
}

// EditorProblem is a problem with its place in the YAML.
type EditorProblem struct {
	Line, Col int
	Message   string
}

// Conflict says a save was refused because someone else saved first.
type Conflict struct {
	Message string
	Theirs  int
	Author  string
	Name    string
	Diff    []DiffLine // from their version to this draft
}
