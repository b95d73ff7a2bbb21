package plugin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"baton/composition"
)

// The engine gives runners fields resolved and coerced to the manifest's
// types. These accessors still accept the close variants a YAML or JSON
// decoder produces (an int for a number, "30s" for a duration, []string for
// a list) and apply the type's default when a field is missing, so a runner
// behaves the same whoever built the job.

// fieldString returns a string field, or def when it is missing or null.
func fieldString(f map[string]any, name, def string) (string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return composition.FormatValue(v), nil
	}
	return "", fmt.Errorf("field %s: want a string, got %s", name, describe(v))
}

// fieldBool returns a boolean field, or def when it is missing or null.
func fieldBool(f map[string]any, name string, def bool) (bool, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("field %s: want true or false, got %s", name, describe(v))
}

// fieldDuration returns a duration field, or def when it is missing, null
// or empty. A number counts seconds.
func fieldDuration(f map[string]any, name string, def time.Duration) (time.Duration, error) {
	v, ok := f[name]
	if !ok || v == nil || v == "" {
		return def, nil
	}
	switch v := v.(type) {
	case time.Duration:
		return v, nil
	case string:
		if d, err := time.ParseDuration(v); err == nil {
			return d, nil
		}
	case float64:
		return time.Duration(v * float64(time.Second)), nil
	case int:
		return time.Duration(v) * time.Second, nil
	case int64:
		return time.Duration(v) * time.Second, nil
	}
	return 0, fmt.Errorf("field %s: want a duration such as 30s or 1m30s, got %s", name, describe(v))
}

// fieldList returns a list field; nil when it is missing or null.
func fieldList(f map[string]any, name string) ([]any, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case []any:
		return v, nil
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out, nil
	case []int:
		out := make([]any, len(v))
		for i, n := range v {
			out[i] = n
		}
		return out, nil
	case []float64:
		out := make([]any, len(v))
		for i, n := range v {
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("field %s: want a list, got %s", name, describe(v))
}

// fieldMap returns a map field with its values as strings; nil when it is
// missing or null.
func fieldMap(f map[string]any, name string) (map[string]string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case map[string]string:
		return v, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				return nil, fmt.Errorf("field %s: %s: want a string value, got %s", name, k, describe(x))
			}
			out[k] = composition.FormatValue(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("field %s: want a map of names to values, got %s", name, describe(v))
}

// describe names v's kind and value for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", clipForError(v))
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return "the number " + composition.FormatValue(v)
	case []any, []string:
		return "a list"
	case map[string]any, map[string]string:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}
