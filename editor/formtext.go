package editor

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"baton/composition"
)

// Form text is what the editor's form fields hold and post: lists one item
// per line (or, for needs and enums, comma separated), maps as name=value
// lines, durations such as 90s, booleans true or false. This file reads it
// into model values and writes model values back as form text, so that a
// value shown and posted unchanged reads back the same.

// formLines normalizes the line ends browsers post (CRLF) to \n.
func formLines(s string) string {
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// parseKV reads name=value lines, the form of a map; blanks around names and
// values are trimmed and blank lines skipped. what names the map for errors.
func parseKV(text, what string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(formLines(text), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s, line %d: %q has no =; write one name=value per line", what, i+1, strings.TrimSpace(line))
		case k == "":
			return nil, fmt.Errorf("%s, line %d: %q has no name before =", what, i+1, strings.TrimSpace(line))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: %s is given twice; keep one line for it", what, k)
		}
		out[k] = strings.TrimSpace(v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// kvText writes a map as name=value lines sorted by name.
func kvText[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + composition.FormatValue(m[k])
	}
	return strings.Join(lines, "\n")
}

// anyMap turns a map of text into a free-form map.
func anyMap(m map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// splitList reads a comma separated list, trimming blanks and dropping
// empty items.
func splitList(text string) []string {
	var out []string
	for item := range strings.SplitSeq(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseDuration reads a duration; empty means none (0).
func parseDuration(text, what string) (time.Duration, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			return 0, fmt.Errorf("%s must be a duration with a unit, such as %ss or %sm, not %s", what, s, s, s)
		}
		return 0, fmt.Errorf("%s must be a duration such as 90s, 10m or 1h30m, not %q", what, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s must not be negative", what)
	}
	return d, nil
}

// parseWhole reads a whole number of 0 or more; empty means 0.
func parseWhole(text, what string) (int, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1e9 {
		return 0, fmt.Errorf("%s must be a whole number of 0 or more, not %q", what, s)
	}
	return n, nil
}

// parseBool reads true or false (yes/no and 1/0 too); empty means false.
func parseBool(text, what string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "", "false", "no", "0":
		return false, nil
	case "true", "yes", "1":
		return true, nil
	}
	return false, fmt.Errorf("%s must be true or false, not %q", what, strings.TrimSpace(text))
}

// durationText writes a duration as form text; 0 is empty. It reads back
// with parseDuration to the same value.
func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return composition.FormatDuration(d)
}

// FieldValue returns a task's value for a field as form text, and whether
// the task sets it. Lists are one item per line and maps name=value lines,
// sorted; a list or map that lines cannot hold exactly (an item that is not
// text, such as 200 in [200, 3xx], or has a line break; a name with =) is
// written as JSON, which SetField reads too. (Map fields hold text, so a
// map value 2 posted back becomes "2", as validation reads it anyway.) A value holding an expression is returned as it is. The script
// of a shell task written as run: counts as its run field.
func FieldValue(task *composition.Task, f composition.FieldSpec) (string, bool) {
	if task == nil {
		return "", false
	}
	v, ok := task.With[f.Name]
	if !ok && f.Name == "run" && task.Type == composition.ShellTaskType && task.Run != "" {
		v, ok = task.Run, true
	}
	if !ok || v == nil {
		return "", false
	}
	return valueText(v), true
}

// valueText writes a field value as form text.
func valueText(v any) string {
	switch x := v.(type) {
	case []any:
		lines := make([]string, len(x))
		for i, item := range x {
			s, ok := item.(string)
			if !ok || s == "" || strings.Contains(s, "\n") || s != strings.TrimSpace(s) || i == 0 && strings.HasPrefix(s, "[") {
				return jsonText(v)
			}
			lines[i] = s
		}
		return strings.Join(lines, "\n")
	case map[string]any:
		for k, item := range x {
			_, ok := scalarLine(item)
			if !ok || k == "" || strings.ContainsAny(k, "=\n") || k != strings.TrimSpace(k) || strings.HasPrefix(k, "{") {
				return jsonText(v)
			}
		}
		return kvText(x)
	}
	return composition.FormatValue(v)
}

// scalarLine writes a list item or map value as one line of form text, or
// reports that it cannot be one.
func scalarLine(v any) (string, bool) {
	switch x := v.(type) {
	case []any, map[string]any:
		return "", false
	case string:
		return x, !strings.Contains(x, "\n") && x == strings.TrimSpace(x)
	case float64:
		return composition.FormatValue(x), !math.IsInf(x, 0) && !math.IsNaN(x)
	}
	return composition.FormatValue(v), true
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return composition.FormatValue(v)
	}
	return string(b)
}

// fieldFromText reads form text for a with field, typed by its spec. Empty
// text means the field is not set (false). A list is one item per line, or
// a JSON list; a map name=value lines, or a JSON object; their items and
// values may hold ${{ }}, kept to be evaluated when the task runs. A list
// or map field given as one whole ${{ }} expression, and a field of any
// other type holding ${{ }}, keep the text as it is. Values holding ${{ }}
// are checked for their shape only: their enum and the field's check apply
// when the task runs.
func fieldFromText(f *composition.FieldSpec, text string) (any, bool, error) {
	text = formLines(text)
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return nil, false, nil
	}
	if composition.HasExpr(text) && (composition.IsSingleExpr(text) || f.Type != composition.TypeList && f.Type != composition.TypeMap) {
		return text, true, nil
	}
	var raw any = text
	switch f.Type {
	case composition.TypeList:
		if !strings.HasPrefix(trimmed, "[") {
			items := []any{}
			for line := range strings.SplitSeq(text, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					items = append(items, line)
				}
			}
			raw = items
		}
	case composition.TypeDuration:
		if n, err := strconv.ParseFloat(trimmed, 64); err == nil {
			raw = n // a bare number: Coerce says to add a unit
		}
	case composition.TypeMap:
		if !strings.HasPrefix(trimmed, "{") {
			m, err := parseKV(text, fmt.Sprintf("field %q", f.Name))
			if err != nil {
				return nil, false, err
			}
			raw = anyMap(m)
		}
	}
	spec := f
	if holdsExpr(raw) {
		spec = &composition.FieldSpec{Name: f.Name, Type: f.Type}
	}
	v, err := spec.Coerce(raw)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}
