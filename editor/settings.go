package editor

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"baton/composition"
)

// SettingKeys are the composition settings SetSetting and SettingValue know,
// in form order.
var SettingKeys = []string{
	"name", "description", "concurrency", "timeout", "workspace.clean",
	"on_failure.composition", "on_failure.params",
	"requires.pool", "requires.labels", "requires.facts", "requires.local",
	"outputs",
}

// SetSetting sets one composition setting from form text (see
// SettingKeys): name, description and on_failure.composition are text;
// concurrency a whole number; timeout a duration; workspace.clean true or
// false; on_failure.params, requires.labels and outputs name=value lines;
// requires.pool and requires.facts text; requires.local true, false or
// empty for no preference. Empty text removes a setting. on_failure is
// removed when both of its keys are empty.
func (d *Doc) SetSetting(key, value string) error {
	value = formLines(value)
	return d.edit(func(c *composition.Composition) error {
		var err error
		switch key {
		case "name":
			c.Name = strings.TrimSpace(value)
		case "description":
			c.Description = value
		case "concurrency":
			c.Concurrency, err = parseWhole(value, "concurrency")
		case "timeout":
			c.Timeout, err = parseDuration(value, "timeout")
		case "workspace.clean":
			c.Workspace.Clean, err = parseBool(value, "workspace.clean")
		case "on_failure.composition", "on_failure.params":
			err = setOnFailure(c, key, value)
		case "outputs":
			var m map[string]string
			m, err = parseKV(value, "outputs")
			c.Outputs = anyMap(m)
		default:
			sub, ok := strings.CutPrefix(key, "requires.")
			if !ok {
				return fmt.Errorf("unknown setting %q; the settings are %s", key, strings.Join(SettingKeys, ", "))
			}
			err = setRequires(&c.Requires, sub, value)
		}
		return err
	})
}

func setOnFailure(c *composition.Composition, key, value string) error {
	call := &composition.Call{}
	if c.OnFailure != nil {
		call = c.OnFailure
	}
	if key == "on_failure.composition" {
		call.Composition = strings.TrimSpace(value)
	} else {
		params, err := parseKV(value, "on_failure.params")
		if err != nil {
			return err
		}
		call.Params = anyMap(params)
	}
	if call.Composition == "" && len(call.Params) == 0 {
		call = nil
	}
	c.OnFailure = call
	return nil
}

// SettingValue returns a composition setting (see SettingKeys) as the form
// text SetSetting reads.
func SettingValue(c *composition.Composition, key string) string {
	if c == nil {
		return ""
	}
	switch key {
	case "name":
		return c.Name
	case "description":
		return c.Description
	case "concurrency":
		if c.Concurrency == 0 {
			return ""
		}
		return fmt.Sprint(c.Concurrency)
	case "timeout":
		return durationText(c.Timeout)
	case "workspace.clean":
		return fmt.Sprint(c.Workspace.Clean)
	case "on_failure.composition":
		if c.OnFailure == nil {
			return ""
		}
		return c.OnFailure.Composition
	case "on_failure.params":
		if c.OnFailure == nil {
			return ""
		}
		return kvText(c.OnFailure.Params)
	case "outputs":
		return kvText(c.Outputs)
	}
	if sub, ok := strings.CutPrefix(key, "requires."); ok {
		return requiresValue(c.Requires, sub)
	}
	return ""
}

// ParamEdit is a param as the form holds it: every key as text.
type ParamEdit struct {
	Name     string // the new name when renaming; empty keeps the name
	Type     string // string (also when empty), number, boolean or list
	Required bool
	Default  string // in the param's type; a list one item per line, or comma separated; blank means none
	// HasDefault keeps an empty Default of a string param as a default of
	// "" rather than none, which expressions tell apart (nil is not '').
	HasDefault  bool
	Enum        string // the allowed values, comma separated; empty means any
	Description string
}

// paramNameRe is what Parse accepts as a param name.
var paramNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

var paramTypes = []string{
	string(composition.TypeString), string(composition.TypeNumber),
	string(composition.TypeBoolean), string(composition.TypeList),
}

// SetParam adds the param name, or replaces it with p when it exists. A
// different p.Name renames it, and references to it in ${{ }} expressions
// (params.OLD) follow. The default and the enum are read in the param's
// type and must fit it (and the default the enum); a value that does not
// is an error and changes nothing. A new param goes last.
func (d *Doc) SetParam(name string, p ParamEdit) error {
	p.Default = formLines(p.Default)
	p.Description = formLines(p.Description)
	return d.edit(func(c *composition.Composition) error {
		name = strings.TrimSpace(name)
		newName := strings.TrimSpace(p.Name)
		if newName == "" {
			newName = name
		}
		if !paramNameRe.MatchString(newName) {
			return fmt.Errorf("param name %q may hold only lowercase letters, digits and _, and must not start with a digit", newName)
		}
		old := c.Param(name)
		if newName != name && c.Param(newName) != nil {
			return fmt.Errorf("there is already a param %q; choose another name", newName)
		}
		param, err := readParam(newName, p)
		if err != nil {
			return err
		}
		if old == nil {
			c.Params = append(c.Params, param)
			return nil
		}
		*old = param
		if newName != name {
			rewriteTemplates(c, func(s string) string { return renameRefs(s, "params", name, newName) })
		}
		return nil
	})
}

// readParam reads the form text of a param.
func readParam(name string, p ParamEdit) (composition.Param, error) {
	typ := strings.TrimSpace(p.Type)
	if typ == "" {
		typ = string(composition.TypeString)
	}
	if !slices.Contains(paramTypes, typ) {
		return composition.Param{}, fmt.Errorf("param %s: type must be one of %s, not %q", name, strings.Join(paramTypes, ", "), typ)
	}
	out := composition.Param{
		Name:        name,
		Type:        composition.FieldType(typ),
		Required:    p.Required,
		Description: p.Description,
	}
	// The enum of a list param holds the values its items may take.
	item := &composition.FieldSpec{Type: out.Type}
	if out.Type == composition.TypeList {
		item.Type = composition.TypeString
	}
	for _, s := range splitList(p.Enum) {
		v, err := item.Coerce(s)
		if err != nil {
			return composition.Param{}, fmt.Errorf("param %s: enum: %w", name, errors.Unwrap(err))
		}
		out.Enum = append(out.Enum, v)
	}
	switch {
	case p.HasDefault && out.Type == composition.TypeString && strings.TrimSpace(p.Default) == "":
		out.Default = p.Default
	case strings.TrimSpace(p.Default) != "":
		spec := &composition.FieldSpec{Type: out.Type, Enum: out.Enum}
		v, err := spec.Coerce(p.Default)
		if err != nil {
			return composition.Param{}, fmt.Errorf("param %s: default: %w", name, errors.Unwrap(err))
		}
		out.Default = v
	}
	return out, nil
}

// ParamForm returns a param as the form text SetParam reads.
func ParamForm(p composition.Param) ParamEdit {
	out := ParamEdit{
		Name:        p.Name,
		Type:        string(p.Type),
		Required:    p.Required,
		Description: p.Description,
		HasDefault:  p.Default != nil,
	}
	if out.Type == "" {
		out.Type = string(composition.TypeString)
	}
	enum := make([]string, len(p.Enum))
	for i, e := range p.Enum {
		enum[i] = composition.FormatValue(e)
	}
	out.Enum = strings.Join(enum, ", ")
	if list, ok := p.Default.([]any); ok {
		out.Default = listDefaultText(list)
	} else {
		out.Default = composition.FormatValue(p.Default)
	}
	return out
}

// listDefaultText writes a list param's default one item per line, or as
// JSON when lines cannot hold it exactly.
func listDefaultText(list []any) string {
	if len(list) == 0 {
		return "[]"
	}
	items := make([]string, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok || s == "" || strings.Contains(s, "\n") || s != strings.TrimSpace(s) || i == 0 && strings.HasPrefix(s, "[") {
			return jsonText(list)
		}
		items[i] = s
	}
	if len(items) == 1 && strings.Contains(items[0], ",") {
		return jsonText(list) // a lone line is split on commas
	}
	return strings.Join(items, "\n")
}

// RemoveParam removes a param. References to it are left for Problems to
// report.
func (d *Doc) RemoveParam(name string) error {
	return d.edit(func(c *composition.Composition) error {
		i := slices.IndexFunc(c.Params, func(p composition.Param) bool { return p.Name == name })
		if i < 0 {
			return fmt.Errorf("there is no param %q", name)
		}
		c.Params = slices.Delete(c.Params, i, i+1)
		return nil
	})
}
