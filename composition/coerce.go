package composition

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Coerce converts v to the field's type and checks it against the field's
// enum. It is lenient the way a person typing into a form or a command line
// expects:
//
//   - string, text, secret: numbers and bools become their text.
//   - number: a float64; strings are parsed ("2" is 2).
//   - boolean: true/false, or the strings true, false, yes, no, 1, 0 (in any
//     case), or the numbers 1 and 0.
//   - list: a []any; a string holding a JSON array is parsed, any other
//     string is split on newlines if it has any, else on commas, with blanks
//     trimmed and empty items dropped.
//   - map: a map[string]any whose values are text (numbers and bools become
//     text); a string holding a JSON object is parsed.
//   - duration: a Go duration such as 90s or 1h30m, kept as a string.
//
// For a list, the enum applies to each item. A nil v stays nil; an unknown
// type leaves v as it is. The field's Check, if any, runs on the result.
// Errors name the field and say what was wrong, e.g. `field "count": "abc"
// is not a number`.
func (f *FieldSpec) Coerce(v any) (any, error) {
	out, err := f.coerceChecked(v)
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", f.Name, err)
	}
	return out, nil
}

// coerceChecked is Coerce without the field's name in its errors.
func (f *FieldSpec) coerceChecked(v any) (any, error) {
	out, err := coerce(f.Type, f.Enum, v)
	if err == nil && out != nil && out != "" && f.Check != nil { // empty means not given
		if err = f.Check(out); err != nil {
			// Checks shared with runners may name the field themselves.
			err = errors.New(strings.TrimPrefix(err.Error(), "field "+f.Name+": "))
		}
	}
	return out, err
}

// coerce converts v to type t and checks the enum; its errors do not name the
// field.
func coerce(t FieldType, enum []any, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := coerceType(t, v)
	if err != nil || len(enum) == 0 {
		return out, err
	}
	allowed := make([]any, 0, len(enum))
	for _, e := range enum {
		if ce, err := coerceType(t, e); err == nil {
			allowed = append(allowed, ce)
		}
	}
	if t == TypeList {
		// Enum values of a list field are its items' values, compared as
		// text since list items often come from text ("a,b").
		for _, item := range out.([]any) {
			if !slices.ContainsFunc(enum, func(e any) bool { return FormatValue(e) == FormatValue(item) }) {
				return nil, fmt.Errorf("%s is not one of %s", describeValue(item), formatEnum(enum))
			}
		}
		return out, nil
	}
	if !inEnum(out, allowed) {
		return nil, fmt.Errorf("%s is not one of %s", describeValue(out), formatEnum(allowed))
	}
	return out, nil
}

func coerceType(t FieldType, v any) (any, error) {
	switch t {
	case "", TypeString, TypeText, TypeSecret:
		return toText(v)
	case TypeNumber:
		return toNumber(v)
	case TypeBoolean:
		return toBool(v)
	case TypeList:
		return toList(v)
	case TypeMap:
		return toMap(v)
	case TypeDuration:
		return toDuration(v)
	}
	return v, nil
}

func toText(v any) (any, error) {
	switch v.(type) {
	case string:
		return v, nil
	case []any, []string, map[string]any, map[string]string:
		return nil, fmt.Errorf("%s is not text", describeValue(v))
	}
	if _, ok := toFloat(v); ok {
		return FormatValue(v), nil
	}
	if b, ok := v.(bool); ok {
		return strconv.FormatBool(b), nil
	}
	return nil, fmt.Errorf("%s is not text", describeValue(v))
}

// toFloat returns v as a float64 when v is a Go number.
func toFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func toNumber(v any) (any, error) {
	if f, ok := toFloat(v); ok {
		return f, nil
	}
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s is not a number", describeValue(v))
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
	default:
		if f, ok := toFloat(v); ok && (f == 0 || f == 1) {
			return f == 1, nil
		}
	}
	return nil, fmt.Errorf("%s is not true or false (yes/no and 1/0 work too)", describeValue(v))
}

func toList(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			var out []any
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("%s looks like a JSON list but is not one: %v", describeValue(x), err)
			}
			if out == nil {
				out = []any{}
			}
			return out, nil
		}
		sep := ","
		if strings.Contains(s, "\n") {
			sep = "\n"
		}
		out := []any{}
		for item := range strings.SplitSeq(s, sep) {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a list", describeValue(v))
}

func toMap(v any) (any, error) {
	switch x := v.(type) {
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			if x[k] == nil {
				out[k] = ""
				continue
			}
			s, err := toText(x[k])
			if err != nil {
				return nil, fmt.Errorf("the value of key %q is %s; map values must be text", k, describeValue(x[k]))
			}
			out[k] = s
		}
		return out, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return map[string]any{}, nil
		}
		if strings.HasPrefix(s, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return nil, fmt.Errorf("%s looks like a JSON object but is not one: %v", describeValue(x), err)
			}
			return toMap(m)
		}
	}
	return nil, fmt.Errorf(`%s is not a map; write a YAML map or a JSON object such as {"key": "value"}`, describeValue(v))
}

func toDuration(v any) (any, error) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if _, err := time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("%s is not a duration such as 90s, 10m or 1h30m", describeValue(x))
		}
		return s, nil
	case time.Duration:
		return x.String(), nil
	}
	if _, ok := toFloat(v); ok {
		return nil, fmt.Errorf("%s is not a duration; add a unit, e.g. %ss", describeValue(v), FormatValue(v))
	}
	return nil, fmt.Errorf("%s is not a duration such as 90s, 10m or 1h30m", describeValue(v))
}

func inEnum(v any, enum []any) bool {
	return slices.ContainsFunc(enum, func(e any) bool { return valuesEqual(v, e) })
}

// valuesEqual compares two values, numbers by value whatever their Go type.
func valuesEqual(a, b any) bool {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func formatEnum(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = FormatValue(e)
	}
	return strings.Join(parts, ", ")
}

// describeValue names a value for a message: strings quoted, numbers and
// bools as text, "a list", "a map" or "nothing".
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(truncate(x, 40))
	case []any, []string:
		return "a list"
	case map[string]any, map[string]string:
		return "a map"
	case bool:
		return strconv.FormatBool(x)
	}
	if _, ok := toFloat(v); ok {
		return FormatValue(v)
	}
	return fmt.Sprintf("a %T", v)
}

// FieldError is one parameter that could not be bound, with what was wrong.
type FieldError struct {
	Field   string
	Message string
}

// Error formats the error as `param "x": message`.
func (e FieldError) Error() string {
	return fmt.Sprintf("param %q: %s", e.Field, e.Message)
}

// BindParams checks the parameters given for a run against the
// composition's params and returns the values to run with: each given value
// coerced to its param's type (the command line gives strings: "2" becomes 2,
// "true" becomes true, "a,b" becomes [a b]) and checked against its enum,
// and the defaults of params not given. A nil or empty-string value counts as
// not given, as a blank form field does. Optional params without a default
// that are not given are left out.
//
// It returns one FieldError per bad param, sorted by name: unknown params
// (with a suggestion), missing required params and values that do not fit.
// The map holds every param that could be bound, even when there are errors.
func (c *Composition) BindParams(in map[string]any) (map[string]any, []FieldError) {
	out := map[string]any{}
	var errs []FieldError
	names := make([]string, len(c.Params))
	for i, p := range c.Params {
		names[i] = p.Name
	}
	for _, k := range sortedKeys(in) {
		if c.Param(k) == nil {
			errs = append(errs, FieldError{Field: k, Message: unknownParamMessage(k, names)})
		}
	}
	for _, p := range c.Params {
		v, given := in[p.Name]
		if s, ok := v.(string); ok && s == "" {
			given = false
		}
		if !given || v == nil {
			switch {
			case p.Default != nil:
				out[p.Name] = CloneValue(p.Default)
			case p.Required:
				errs = append(errs, FieldError{Field: p.Name, Message: "is required but was not given"})
			}
			continue
		}
		cv, err := coerce(p.Type, p.Enum, v)
		if err != nil {
			errs = append(errs, FieldError{Field: p.Name, Message: err.Error()})
			continue
		}
		out[p.Name] = cv
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return out, errs
}

func unknownParamMessage(name string, names []string) string {
	if len(names) == 0 {
		return "unknown param; this composition takes no params"
	}
	if hint := DidYouMean(name, names); hint != "" {
		return "unknown param" + hint
	}
	return "unknown param; the params are " + strings.Join(names, ", ")
}

// CloneValue copies the lists and maps of a free-form value, so that the
// copy can be changed without changing the original (a composition's
// defaults, a task's with).
func CloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = CloneValue(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = CloneValue(item)
		}
		return out
	}
	return v
}
