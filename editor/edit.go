package editor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Op names one action of the editor, as the page posts it in its op field.
// The names are defined here only: the server hands them to the views in
// the page model, and editor.js reads the one it posts from the page.
type Op string

// The editor's actions.
const (
	OpSelect         Op = "select"          // open a task's form (Edit.Task)
	OpLayout         Op = "layout"          // arrange the canvas after a drag (Edit.Rows)
	OpAdd            Op = "add"             // add a task of Edit.Type in a new row at the end
	OpMove           Op = "move"            // move Edit.Task one place (Edit.Dir)
	OpDuplicate      Op = "duplicate"       // copy Edit.Task
	OpRemove         Op = "remove"          // remove Edit.Task
	OpField          Op = "field"           // set a field of the selected task's type (Edit.Key)
	OpTask           Op = "task"            // set a key of the selected task (TaskKeys)
	OpSetting        Op = "setting"         // set a composition setting (SettingKeys)
	OpParam          Op = "param"           // change the param of row Edit.Index
	OpParamAdd       Op = "param-add"       // add a param
	OpParamRemove    Op = "param-remove"    // remove the param of row Edit.Index
	OpSchedule       Op = "schedule"        // change the schedule of row Edit.Index
	OpScheduleAdd    Op = "schedule-add"    // add a schedule
	OpScheduleRemove Op = "schedule-remove" // remove the schedule of row Edit.Index
	OpYAML           Op = "yaml"            // take the text of the YAML tab (Edit.YAML)
)

// ops lists every Op, for DecodeEdit.
var ops = []Op{OpSelect, OpLayout, OpAdd, OpMove, OpDuplicate, OpRemove, OpField, OpTask, OpSetting,
	OpParam, OpParamAdd, OpParamRemove, OpSchedule, OpScheduleAdd, OpScheduleRemove, OpYAML}

// ErrNoAction is the error of DecodeEdit for an op the editor does not
// have: a page from another version of Baton, or a forged request.
var ErrNoAction = errors.New("the editor has no such action; reload the editor")

// The page's inputs are named by InputName (the fields of the selected
// task, its keys, the settings: "in-field-url", "in-task-timeout",
// "in-setting-name") and RowPrefix (a param's or schedule's row, whose
// inputs are the prefix and the key: "param-0-name", "sched-1-cron").
// DecodeEdit is the only reader of these names.
//
// The boxes of a task's needs post one value each, and nothing at all when
// none is checked; a hidden input named as the boxes plus "-shown" goes
// with them, so that no box checked reads as "needs nothing" rather than
// as "not shown".
const (
	inputPrefix = "in-"
	needsShown  = inputPrefix + string(OpTask) + "-needs-shown"
)

// InputName is the name of the input that holds key in the form of op
// (OpField, OpTask or OpSetting).
func InputName(op Op, key string) string {
	return inputPrefix + string(op) + "-" + key
}

// RowPrefix is the start of the names of the inputs of row i of the params
// (OpParam) or the schedules (OpSchedule): a param's are the prefix and
// name, type, required, default, enum and description; a schedule's the
// prefix and cron, timezone, params, catch_up and overlap.
func RowPrefix(op Op, i int) string {
	if op == OpSchedule {
		return "sched-" + strconv.Itoa(i) + "-"
	}
	return "param-" + strconv.Itoa(i) + "-"
}

// Edit is one action of the editor as the page posts it, with what every
// form on the page holds at that moment. A save applies the forms' values
// the YAML does not hold yet (ApplyPending): a value typed and not yet
// sent, or one refused.
type Edit struct {
	Op       Op
	Task     string     // the card a canvas action concerns: select, move, duplicate, remove
	Selected string     // the task whose form is open
	Key      string     // field, task, setting: the key
	Type     string     // add: the task type
	Dir      int        // move: -1 or 1
	Rows     [][]string // layout: task ids (or NewPrefix+type) row by row
	Index    int        // param, param-remove, schedule, schedule-remove: the row
	YAML     []byte     // yaml: the text of the YAML tab

	// Fields, TaskKeys and Settings hold the form text of the inputs shown,
	// by key: the selected task's fields, its keys (needs only when its
	// boxes were shown, as a comma list) and the composition's settings.
	Fields, TaskKeys, Settings map[string]string
	// Params and Schedules hold the rows of the settings tab, in order. A
	// row names the param or schedule at its index, which stays the same
	// while the row is on the page (adding or removing a row draws them all
	// again), so that a row keeps its param after a rename.
	Params    []ParamEdit
	Schedules []ScheduleEdit
}

// DecodeEdit reads an action of the editor from the form the page posts.
// An empty op is no action, which a save posts. It returns an error for
// people when the form does not fit the action (ErrNoAction for an op the
// editor does not have); the edit returned then still holds what could be
// read.
func DecodeEdit(form url.Values) (Edit, error) {
	e := Edit{
		Op:       Op(form.Get("op")),
		Task:     form.Get("task"),
		Selected: form.Get("selected"),
		Key:      form.Get("key"),
		Type:     form.Get("type"),
		Fields:   map[string]string{},
		TaskKeys: map[string]string{},
		Settings: map[string]string{},
	}
	for name, values := range form {
		rest, ok := strings.CutPrefix(name, inputPrefix)
		if !ok || name == needsShown || len(values) == 0 {
			continue
		}
		text := formLines(values[0])
		switch {
		case strings.HasPrefix(rest, string(OpField)+"-"):
			e.Fields[rest[len(OpField)+1:]] = text
		case strings.HasPrefix(rest, string(OpTask)+"-"):
			e.TaskKeys[rest[len(OpTask)+1:]] = text
		case strings.HasPrefix(rest, string(OpSetting)+"-"):
			e.Settings[rest[len(OpSetting)+1:]] = text
		}
	}
	delete(e.TaskKeys, "needs")
	if _, shown := form[needsShown]; shown || e.Op == OpTask && e.Key == "needs" {
		e.TaskKeys["needs"] = strings.Join(form[InputName(OpTask, "needs")], ", ")
	}
	for i := 0; ; i++ {
		p := RowPrefix(OpParam, i)
		if _, ok := form[p+"name"]; !ok {
			break
		}
		e.Params = append(e.Params, ParamEdit{
			Name: form.Get(p + "name"), Type: form.Get(p + "type"), Required: form.Get(p+"required") == "true",
			Default: formLines(form.Get(p + "default")), HasDefault: form.Get(p+"default") != "",
			Enum: form.Get(p + "enum"), Description: formLines(form.Get(p + "description")),
		})
	}
	for i := 0; ; i++ {
		p := RowPrefix(OpSchedule, i)
		if _, ok := form[p+"cron"]; !ok {
			break
		}
		e.Schedules = append(e.Schedules, ScheduleEdit{
			Cron: form.Get(p + "cron"), Timezone: form.Get(p + "timezone"), Params: formLines(form.Get(p + "params")),
			CatchUp: form.Get(p+"catch_up") == "true", Overlap: form.Get(p+"overlap") == "true",
		})
	}
	return e, e.decodeArgs(form)
}

// decodeArgs reads the arguments of the action that are not text.
func (e *Edit) decodeArgs(form url.Values) error {
	switch e.Op {
	case "":
	case OpLayout:
		if err := json.Unmarshal([]byte(form.Get("rows")), &e.Rows); err != nil {
			return errors.New("the canvas sent a layout that could not be read; reload the editor")
		}
	case OpMove:
		dir, err := strconv.Atoi(form.Get("dir"))
		if err != nil || dir != -1 && dir != 1 {
			return fmt.Errorf("a task moves one place at a time (-1 or 1), not %q", form.Get("dir"))
		}
		e.Dir = dir
	case OpParam, OpParamRemove, OpSchedule, OpScheduleRemove:
		i, err := strconv.Atoi(form.Get("index"))
		if err != nil || i < 0 {
			return fmt.Errorf("the editor sent row %q, which is not a row number; reload the editor", form.Get("index"))
		}
		e.Index = i
	case OpYAML:
		e.YAML = []byte(formLines(form.Get("yaml")))
	default:
		for _, op := range ops {
			if e.Op == op {
				return nil
			}
		}
		return fmt.Errorf("%q: %w", e.Op, ErrNoAction)
	}
	return nil
}
