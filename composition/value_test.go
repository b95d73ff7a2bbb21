package composition

import (
	"reflect"
	"testing"
)

func TestValueYAMLRoundTrip(t *testing.T) {
	values := []any{
		"plain", "two words", "true", "123", "", " padded ", "a: b", "- x", "${{ params.x }}",
		"line one\nline two\n", "no final newline\nsecond",
		float64(3), 2.5, true, false, nil,
		[]any{"a", float64(2), true, "404"},
		[]any{},
		map[string]any{"Authorization": "Bearer ${{ params.token }}", "n": float64(1), "nested": map[string]any{"k": []any{"v"}}},
		map[string]any{},
		[]any{map[string]any{"a": "b", "c": float64(1)}, []any{"x", "y"}},
	}
	for _, v := range values {
		text := ValueYAML(v)
		got, err := ParseValue(text)
		if err != nil {
			t.Errorf("ParseValue(ValueYAML(%#v) = %q): %v", v, text, err)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %#v through %q gave %#v", v, text, got)
		}
	}
}

func TestParseValueErrors(t *testing.T) {
	if _, err := ParseValue("[unclosed"); err == nil {
		t.Error("ParseValue accepted an unclosed flow list")
	}
	v, err := ParseValue("  ")
	if err != nil || v != nil {
		t.Errorf("ParseValue of blanks = %#v, %v; want nil, nil", v, err)
	}
}
