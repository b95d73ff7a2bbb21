package composition

import "strings"

// InputKind is how a form edits a value of a composition file.
type InputKind string

// The inputs of the editor's forms.
const (
	InputText     InputKind = "text"     // one line
	InputTextArea InputKind = "textarea" // several lines of prose
	InputNeeds    InputKind = "needs"    // a choice of other tasks
	InputMap      InputKind = "map"      // name=value per line
	InputDuration InputKind = "duration" // such as 90s or 10m
	InputNumber   InputKind = "number"   // a whole number
	InputBool     InputKind = "bool"     // true or false
)

// Key is a key of a task in a composition file, with what the editor's
// task form shows for it.
type Key struct {
	Name  string    // as written in the file; a.b for a key inside another (requires.pool)
	Label string    // the form's label; "" when the task form does not edit it
	Input InputKind // the form's input
	Note  string    // the form's hint
}

// TaskKeys is the one table of a task's keys: in the order Format writes
// them, what the parser accepts (the top-level names), and what the
// editor's task form edits, with its labels. A key with sub-keys
// (requires) is followed by them, each named parent.sub.
var TaskKeys = []Key{
	{Name: "id", Label: "Id", Input: InputText, Note: "Unique in the composition; later tasks read its outputs as tasks.ID.outputs."},
	{Name: "name", Label: "Display name", Input: InputText},
	{Name: "type"},
	{Name: "run"},
	{Name: "needs", Label: "Runs after", Input: InputNeeds},
	{Name: "if", Label: "Run only if", Input: InputText, Note: "A ${{ }} expression; when false the task is skipped."},
	{Name: "with"},
	{Name: "env", Label: "Environment", Input: InputMap, Note: "NAME=value per line; values may hold ${{ }} and reach the script unquoted-safe."},
	{Name: "timeout", Label: "Timeout", Input: InputDuration, Note: "Such as 90s or 10m; empty means no limit."},
	{Name: "retries", Label: "Retries", Input: InputNumber, Note: "Extra attempts after a failure."},
	{Name: "retry_delay", Label: "Retry delay", Input: InputDuration},
	{Name: "continue_on_error", Label: "Continue on error", Input: InputBool, Note: "When true, the task's failure does not fail the run."},
	{Name: "always", Label: "Always run", Input: InputBool, Note: "When true, the task still runs after the run has failed or been cancelled (cleanup, such as deprovision)."},
	{Name: "requires"},
	{Name: "requires.pool", Label: "Agent pool", Input: InputText, Note: "Run this task on an agent of this pool."},
	{Name: "requires.labels", Label: "Agent labels", Input: InputMap, Note: "name=value per line, all must match."},
	{Name: "requires.facts", Label: "Agent facts", Input: InputText, Note: "An expression over facts, such as facts.os == \"linux\"."},
	{Name: "requires.local", Label: "Server's own executor", Input: InputBool, Note: "false: never run on the server itself."},
}

// TaskKey returns the row of TaskKeys named name.
func TaskKey(name string) (Key, bool) {
	for _, k := range TaskKeys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// taskFileKeys are the top-level keys of TaskKeys: what a task in a file
// may have.
var taskFileKeys = func() []string {
	var out []string
	for _, k := range TaskKeys {
		if !strings.Contains(k.Name, ".") {
			out = append(out, k.Name)
		}
	}
	return out
}()
