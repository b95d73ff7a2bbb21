package composition

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestCoerce(t *testing.T) {
	tests := []struct {
		name string
		spec FieldSpec
		in   any
		want any
		err  string
	}{
		{"string", FieldSpec{Name: "s", Type: TypeString}, "x", "x", ""},
		{"string from number", FieldSpec{Name: "s", Type: TypeString}, 2.0, "2", ""},
		{"string from float", FieldSpec{Name: "s", Type: TypeString}, 2.5, "2.5", ""},
		{"text from bool", FieldSpec{Name: "s", Type: TypeText}, true, "true", ""},
		{"secret", FieldSpec{Name: "s", Type: TypeSecret}, "hunter2", "hunter2", ""},
		{"string from list", FieldSpec{Name: "url", Type: TypeString}, []any{"a"}, nil, `field "url": a list is not text`},
		{"untyped is string", FieldSpec{Name: "s"}, 3.0, "3", ""},
		{"number", FieldSpec{Name: "count", Type: TypeNumber}, 3.0, 3.0, ""},
		{"number from int", FieldSpec{Name: "count", Type: TypeNumber}, 3, 3.0, ""},
		{"number from string", FieldSpec{Name: "count", Type: TypeNumber}, " 2.5 ", 2.5, ""},
		{"not a number", FieldSpec{Name: "count", Type: TypeNumber}, "abc", nil, `field "count": "abc" is not a number`},
		{"NaN is not a number", FieldSpec{Name: "count", Type: TypeNumber}, "NaN", nil, `field "count": "NaN" is not a number`},
		{"number from bool", FieldSpec{Name: "count", Type: TypeNumber}, true, nil, `field "count": true is not a number`},
		{"boolean", FieldSpec{Name: "b", Type: TypeBoolean}, false, false, ""},
		{"boolean yes", FieldSpec{Name: "b", Type: TypeBoolean}, "Yes", true, ""},
		{"boolean 0", FieldSpec{Name: "b", Type: TypeBoolean}, "0", false, ""},
		{"boolean 1 number", FieldSpec{Name: "b", Type: TypeBoolean}, 1.0, true, ""},
		{"not a boolean", FieldSpec{Name: "b", Type: TypeBoolean}, "maybe", nil, `field "b": "maybe" is not true or false (yes/no and 1/0 work too)`},
		{"list", FieldSpec{Name: "l", Type: TypeList}, []any{"a", 1.0}, []any{"a", 1.0}, ""},
		{"list from strings", FieldSpec{Name: "l", Type: TypeList}, []string{"a", "b"}, []any{"a", "b"}, ""},
		{"list from JSON", FieldSpec{Name: "l", Type: TypeList}, ` ["a", 2] `, []any{"a", 2.0}, ""},
		{"list from lines", FieldSpec{Name: "l", Type: TypeList}, "i-1\n i-2 \n\ni-3,x\n", []any{"i-1", "i-2", "i-3,x"}, ""},
		{"list from commas", FieldSpec{Name: "l", Type: TypeList}, "a, b,,c ", []any{"a", "b", "c"}, ""},
		{"empty list", FieldSpec{Name: "l", Type: TypeList}, "  ", []any{}, ""},
		{"bad JSON list", FieldSpec{Name: "l", Type: TypeList}, "[a", nil, `field "l": "[a" looks like a JSON list but is not one: invalid character 'a' looking for beginning of value`},
		{"list from number", FieldSpec{Name: "l", Type: TypeList}, 5.0, nil, `field "l": 5 is not a list`},
		{"map", FieldSpec{Name: "m", Type: TypeMap}, map[string]any{"a": "x", "n": 1.0, "b": true, "z": nil}, map[string]any{"a": "x", "n": "1", "b": "true", "z": ""}, ""},
		{"map of strings", FieldSpec{Name: "m", Type: TypeMap}, map[string]string{"a": "x"}, map[string]any{"a": "x"}, ""},
		{"map from JSON", FieldSpec{Name: "m", Type: TypeMap}, `{"a": 1}`, map[string]any{"a": "1"}, ""},
		{"map with a nested value", FieldSpec{Name: "m", Type: TypeMap}, map[string]any{"a": []any{}}, nil, `field "m": the value of key "a" is a list; map values must be text`},
		{"map from text", FieldSpec{Name: "m", Type: TypeMap}, "a=b", nil, `field "m": "a=b" is not a map; write a YAML map or a JSON object such as {"key": "value"}`},
		{"duration", FieldSpec{Name: "d", Type: TypeDuration}, " 1h30m ", "1h30m", ""},
		{"duration value", FieldSpec{Name: "d", Type: TypeDuration}, 90 * time.Second, "1m30s", ""},
		{"bad duration", FieldSpec{Name: "d", Type: TypeDuration}, "10 minutes", nil, `field "d": "10 minutes" is not a duration such as 90s, 10m or 1h30m`},
		{"duration without unit", FieldSpec{Name: "d", Type: TypeDuration}, 30.0, nil, `field "d": 30 is not a duration; add a unit, e.g. 30s`},
		{"enum", FieldSpec{Name: "env", Type: TypeString, Enum: []any{"staging", "production"}}, "staging", "staging", ""},
		{"not in enum", FieldSpec{Name: "env", Type: TypeString, Enum: []any{"staging", "production"}}, "prod", nil, `field "env": "prod" is not one of staging, production`},
		{"number enum from string", FieldSpec{Name: "n", Type: TypeNumber, Enum: []any{1.0, 3}}, "3", 3.0, ""},
		{"list items in enum", FieldSpec{Name: "l", Type: TypeList, Enum: []any{"a", "b"}}, "a,b", []any{"a", "b"}, ""},
		{"list item not in enum", FieldSpec{Name: "l", Type: TypeList, Enum: []any{"a", "b"}}, "a,c", nil, `field "l": "c" is not one of a, b`},
		{"nil stays nil", FieldSpec{Name: "n", Type: TypeNumber}, nil, nil, ""},
		{"unknown type passes", FieldSpec{Name: "x", Type: "custom"}, []any{1}, []any{1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.Coerce(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Coerce(%#v) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Coerce(%#v): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Coerce(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBindParams(t *testing.T) {
	c := mustLoad(t, string(readTestdata(t, "release.yaml")))
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
		errs []string
	}{
		{"defaults", map[string]any{"version": "1.0"},
			map[string]any{"version": "1.0", "env": "staging", "replicas": 2.0, "dry_run": false}, nil},
		{"strings from the command line", map[string]any{"version": "1.0", "env": "production", "replicas": "3", "dry_run": "true"},
			map[string]any{"version": "1.0", "env": "production", "replicas": 3.0, "dry_run": true}, nil},
		{"typed values from JSON", map[string]any{"version": 2.0, "replicas": 4.0, "dry_run": true},
			map[string]any{"version": "2", "env": "staging", "replicas": 4.0, "dry_run": true}, nil},
		{"blank counts as not given", map[string]any{"version": "1.0", "env": "", "replicas": nil},
			map[string]any{"version": "1.0", "env": "staging", "replicas": 2.0, "dry_run": false}, nil},
		{"every problem, sorted by name", map[string]any{"env": "prod", "replicas": "many", "dry_run": "maybe", "verison": "1", "zzz": 1},
			map[string]any{},
			[]string{
				`param "dry_run": "maybe" is not true or false (yes/no and 1/0 work too)`,
				`param "env": "prod" is not one of staging, production`,
				`param "replicas": "many" is not a number`,
				`param "verison": unknown param; did you mean "version"?`,
				`param "version": is required but was not given`,
				`param "zzz": unknown param; the params are version, env, replicas, dry_run`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := c.BindParams(tt.in)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if !slices.Equal(msgs, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", msgs, tt.errs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("params = %#v, want %#v", got, tt.want)
			}
		})
	}

	none := &Composition{Name: "none"}
	if _, errs := none.BindParams(map[string]any{"x": 1}); len(errs) != 1 || errs[0].Message != "unknown param; this composition takes no params" {
		t.Errorf("errs = %v", errs)
	}
}

func TestBindParamsCopiesDefaults(t *testing.T) {
	c := mustLoad(t, "name: x\nparams:\n  regions: {type: list, default: [a, b]}\ntasks: [{id: a, run: x}]\n")
	got, _ := c.BindParams(nil)
	got["regions"].([]any)[0] = "changed"
	if c.Param("regions").Default.([]any)[0] != "a" {
		t.Error("BindParams handed out the composition's own default")
	}
	got, _ = c.BindParams(map[string]any{"regions": "x, y"})
	if !reflect.DeepEqual(got["regions"], []any{"x", "y"}) {
		t.Errorf("regions = %#v", got["regions"])
	}
}

func TestLayers(t *testing.T) {
	tests := []struct {
		name  string
		tasks string
		want  [][]string
	}{
		{"chain from omitted needs", "  - {id: a, run: x}\n  - {id: b, run: x}\n  - {id: c, run: x}\n",
			[][]string{{"a"}, {"b"}, {"c"}}},
		{"fan out and in", "  - {id: build, run: x}\n  - {id: eu, run: x, needs: [build]}\n  - {id: us, run: x, needs: [build]}\n  - {id: report, run: x, needs: [us, eu]}\n  - {id: lint, run: x, needs: []}\n",
			[][]string{{"build", "lint"}, {"eu", "us"}, {"report"}}},
		{"unknown needs are ignored", "  - {id: a, run: x, needs: [ghost]}\n  - {id: b, run: x}\n",
			[][]string{{"a"}, {"b"}}},
		{"cycles go last", "  - {id: a, run: x, needs: []}\n  - {id: b, run: x, needs: [c]}\n  - {id: c, run: x, needs: [b]}\n  - {id: d, run: x, needs: [a]}\n",
			[][]string{{"a"}, {"d"}, {"b", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := Parse("f.yaml", []byte("name: x\ntasks:\n"+tt.tasks))
			var got [][]string
			for _, layer := range c.Layers() {
				var ids []string
				for _, task := range layer {
					ids = append(ids, task.ID)
				}
				got = append(got, ids)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Layers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpstream(t *testing.T) {
	c := mustLoad(t, string(readTestdata(t, "fanout.yaml")))
	if got, want := c.Upstream("report"), []string{"build", "deploy-eu", "deploy-us", "deploy-ap"}; !slices.Equal(got, want) {
		t.Errorf("Upstream(report) = %v, want %v", got, want)
	}
	if got := c.Upstream("build"); got != nil {
		t.Errorf("Upstream(build) = %v, want none", got)
	}
}
