package editor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"baton/composition"
)

// Part names the form an edit was typed in, which the page leaves in place
// while only the rest of the editor is sent back.
type Part string

// The forms of the page that stay while the user types in them.
const (
	PartInspector Part = "inspector" // the selected task's form
	PartSettings  Part = "settings"  // the settings tab
	PartYAML      Part = "yaml"      // the YAML tab
)

// Result says what the page shows after an edit.
type Result struct {
	Selected string // the task whose form is open; "" for none
	Tab      string // the tab to show ("settings"), or "" to keep the page's
	Part     Part   // the form the edit was typed in; "" when the whole editor changes
}

// InputError is an edit refused on one input or row of the page: the page
// shows Err beside it and keeps what was typed.
type InputError struct {
	Input string // the input's name (InputName), or the row's prefix (RowPrefix)
	Value string // the text refused, for an input
	Err   error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Apply applies one edit of the page. On error the document is unchanged;
// the error is an *InputError when it belongs to an input or row of the
// page, such as a value that does not fit its field.
func (d *Doc) Apply(e Edit) (Result, error) {
	res := Result{Selected: e.Selected}
	var err error
	switch e.Op {
	case OpSelect:
		res.Selected = e.Task
	case OpLayout:
		before := d.taskIDs()
		if err = d.Layout(e.Rows); err == nil {
			for _, id := range d.taskIDs() {
				if !slices.Contains(before, id) {
					res.Selected = id
				}
			}
		}
	case OpAdd:
		var id string
		if id, err = d.Add(e.Type, len(d.Rows()), false); err == nil {
			res.Selected = id
		}
	case OpMove:
		err = d.Move(e.Task, e.Dir)
		res.Selected = e.Task
	case OpDuplicate:
		var id string
		if id, err = d.Duplicate(e.Task); err == nil {
			res.Selected = id
		}
	case OpRemove:
		if err = d.Remove(e.Task); err == nil && res.Selected == e.Task {
			res.Selected = ""
		}
	case OpField, OpTask:
		res.Part = PartInspector
		values := e.Fields
		if e.Op == OpTask {
			values = e.TaskKeys
		}
		value := values[e.Key]
		if e.Op == OpField {
			err = d.SetField(e.Selected, e.Key, value)
		} else if err = d.SetTask(e.Selected, e.Key, value); err == nil && e.Key == "id" {
			res.Selected = strings.TrimSpace(value)
		}
		err = onInput(err, InputName(e.Op, e.Key), value)
	case OpSetting:
		res.Part = PartSettings
		err = onInput(d.SetSetting(e.Key, e.Settings[e.Key]), InputName(OpSetting, e.Key), e.Settings[e.Key])
	case OpParam:
		res.Part = PartSettings
		if e.Index >= len(e.Params) {
			return res, fmt.Errorf("the form of parameter %d could not be read; reload the editor", e.Index+1)
		}
		err = onInput(d.SetParamAt(e.Index, e.Params[e.Index]), RowPrefix(OpParam, e.Index), "")
	case OpParamAdd:
		res.Tab = "settings"
		err = d.AddParam()
	case OpParamRemove:
		res.Tab = "settings"
		err = d.RemoveParamAt(e.Index)
	case OpSchedule:
		res.Part = PartSettings
		if e.Index >= len(e.Schedules) {
			return res, fmt.Errorf("the form of schedule %d could not be read; reload the editor", e.Index+1)
		}
		err = onInput(d.SetSchedule(e.Index, e.Schedules[e.Index]), RowPrefix(OpSchedule, e.Index), "")
	case OpScheduleAdd:
		res.Tab = "settings"
		if c := d.Composition(); c != nil {
			err = d.SetSchedule(len(c.Schedules), ScheduleEdit{Cron: "@daily"})
		}
	case OpScheduleRemove:
		res.Tab = "settings"
		err = d.RemoveSchedule(e.Index)
	case OpYAML:
		res.Part = PartYAML
		d.ReplaceSource(e.YAML)
	default:
		return res, fmt.Errorf("%q: %w", e.Op, ErrNoAction)
	}
	return res, err
}

// onInput files an edit's error under the input or row it came from.
func onInput(err error, input, value string) error {
	if err == nil {
		return nil
	}
	return &InputError{Input: input, Value: value, Err: err}
}

// taskIDs returns the ids of the tasks, or nil when the YAML cannot be read.
func (d *Doc) taskIDs() []string {
	if d.comp == nil {
		return nil
	}
	return taskIDs(d.comp.Tasks)
}

// ApplyPending applies what the forms of e hold and the YAML does not yet:
// values typed and not sent when Save was pressed, or sent and refused. It
// returns the task whose form is open afterwards (its id may have been
// changed) and the refusals, one per input or row. It does nothing while
// the document is not Editable.
func (d *Doc) ApplyPending(e Edit) (string, []*InputError) {
	selected := e.Selected
	if d.Editable() != nil {
		return selected, nil
	}
	var errs []*InputError
	refuse := func(err error, input, value string) {
		if err != nil {
			errs = append(errs, &InputError{Input: input, Value: value, Err: err})
		}
	}
	if t := d.comp.Task(selected); t != nil {
		for _, key := range TaskKeys {
			value, shown := e.TaskKeys[key]
			cur := d.comp.Task(selected)
			if !shown || key == "run" || cur == nil || value == TaskValue(cur, key) {
				continue
			}
			err := d.SetTask(selected, key, value)
			refuse(err, InputName(OpTask, key), value)
			if err == nil && key == "id" {
				selected = strings.TrimSpace(value)
			}
		}
		d.pendingFields(selected, e.Fields, refuse)
	}
	for _, key := range SettingKeys {
		value, shown := e.Settings[key]
		cur := SettingValue(d.comp, key)
		if !shown || value == cur || key == "workspace.clean" && value == "" && cur == "false" {
			continue
		}
		refuse(d.SetSetting(key, value), InputName(OpSetting, key), value)
	}
	for i, edit := range e.Params {
		if i >= len(d.comp.Params) {
			break
		}
		cur := ParamForm(d.comp.Params[i])
		cur.HasDefault = edit.HasDefault
		if edit == cur {
			continue
		}
		refuse(d.SetParamAt(i, edit), RowPrefix(OpParam, i), "")
	}
	for i, edit := range e.Schedules {
		if i >= len(d.comp.Schedules) {
			break
		}
		if edit == ScheduleForm(d.comp.Schedules[i]) {
			continue
		}
		refuse(d.SetSchedule(i, edit), RowPrefix(OpSchedule, i), "")
	}
	return selected, errs
}

// pendingFields applies the fields of task id that differ from the YAML.
func (d *Doc) pendingFields(id string, fields map[string]string, refuse func(err error, input, value string)) {
	t := d.comp.Task(id)
	if t == nil || d.cat == nil {
		return
	}
	spec, ok := d.cat.TaskType(t.Type)
	if !ok || spec == nil {
		return
	}
	for _, f := range spec.Fields {
		value, shown := fields[f.Name]
		if !shown {
			continue
		}
		if old, _ := FieldValue(d.comp.Task(id), f); old == value {
			continue
		}
		refuse(d.SetField(id, f.Name, value), InputName(OpField, f.Name), value)
	}
}

// AddParam adds a string param with a name no param has yet (param_1,
// param_2, ...), last.
func (d *Doc) AddParam() error {
	name := ""
	for n := 1; name == "" || d.comp != nil && d.comp.Param(name) != nil; n++ {
		name = "param_" + strconv.Itoa(n)
	}
	return d.SetParam(name, ParamEdit{Type: string(composition.TypeString)})
}

// SetParamAt is SetParam for the param at index i (from 0) of the
// composition, the way the settings' rows name them: a row keeps naming its
// param after the param is renamed.
func (d *Doc) SetParamAt(i int, p ParamEdit) error {
	name, err := d.paramAt(i)
	if err != nil {
		return err
	}
	return d.SetParam(name, p)
}

// RemoveParamAt removes the param at index i (from 0).
func (d *Doc) RemoveParamAt(i int) error {
	name, err := d.paramAt(i)
	if err != nil {
		return err
	}
	return d.RemoveParam(name)
}

func (d *Doc) paramAt(i int) (string, error) {
	if err := d.Editable(); err != nil {
		return "", err
	}
	if i < 0 || i >= len(d.comp.Params) {
		return "", fmt.Errorf("there is no parameter %d; the composition has %d", i+1, len(d.comp.Params))
	}
	return d.comp.Params[i].Name, nil
}
