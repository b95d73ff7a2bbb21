package composition

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func testEnv() map[string]any {
	return NewEnv(
		map[string]any{"version": "1.2.0", "replicas": 2.0, "dry_run": false, "ratio": 0.5, "tags": []any{"a", "b"}},
		map[string]TaskState{
			"build":    {Status: "succeeded", Outputs: map[string]any{"artifact": "app.tar.gz", "size": 1024.0}},
			"deploy-a": {Status: "succeeded", Outputs: map[string]any{"url": "https://a.example"}},
			"lint":     {Status: "skipped"},
		},
		map[string]string{"cloud.instances": "i-1,i-2", "cloud.my-key": "k", "region": "eu"},
		RunInfo{ID: 42, Composition: "release", Status: "running"},
	)
}

func TestResolveTyping(t *testing.T) {
	env := testEnv()
	tests := []struct {
		in   string
		want any
	}{
		// Exactly one expression keeps its type.
		{"${{ params.replicas }}", 2.0},
		{"  ${{ params.replicas + 1 }} ", 3.0},
		{"${{ params.dry_run }}", false},
		{"${{ params.tags }}", []any{"a", "b"}},
		{"${{ tasks.build.outputs }}", map[string]any{"artifact": "app.tar.gz", "size": 1024.0}},
		{"${{ {\"a\": {\"b\": 1}} }}", map[string]any{"a": map[string]any{"b": 1}}},
		{"${{ run.id }}", int64(42)},
		// Mixed text formats each expression.
		{"v${{ params.version }}", "v1.2.0"},
		{"n=${{ params.replicas }}", "n=2"},
		{"n=${{ params.replicas * 1e6 }}", "n=2000000"},
		{"r=${{ params.ratio }}", "r=0.5"},
		{"dry=${{ params.dry_run }}", "dry=false"},
		{"[${{ params.missing }}]", "[]"},
		{"tags=${{ params.tags }}", `tags=["a","b"]`},
		{"m=${{ {\"k\": \"<v>\"} }}", `m={"k":"<v>"}`},
		{"${{ params.version }}-${{ run.id }}", "1.2.0-42"},
		{"no templates here", "no templates here"},
		// Nil-safe member access.
		{"${{ tasks.never.outputs.url }}", nil},
		{"${{ tasks.lint.status }}", "skipped"},
		{"${{ tasks.lint.outputs.x ?? \"none\" }}", "none"},
		{"${{ params.nope.deeper }}", nil},
		// Context is nested, and hyphens work.
		{"${{ context.cloud.instances }}", "i-1,i-2"},
		{"${{ context.cloud.my-key }}", "k"},
		{"${{ tasks.deploy-a.outputs.url }}", "https://a.example"},
		// Our functions and expr's builtins.
		{"${{ quote(\"it's\") }}", `'it'\''s'`},
		{"${{ toJSON(params.tags) }}", `["a","b"]`},
		{"${{ fromJSON(\"[1, 2]\")[1] }}", 2.0},
		{"${{ upper(params.version) }}", "1.2.0"},
		{"${{ len(params.tags) }}", 2},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.in, env)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Resolve(%q) = %#v (%T), want %#v (%T)", tt.in, got, got, tt.want, tt.want)
		}
	}
}

func TestResolveStructures(t *testing.T) {
	env := testEnv()
	in := map[string]any{
		"url":   "https://x/${{ params.version }}",
		"count": "${{ params.replicas }}",
		"list":  []any{"${{ params.dry_run }}", 5.0, map[string]any{"deep": "${{ tasks.build.outputs.size }}"}},
		"flat":  map[string]string{"A": "${{ params.replicas }}", "B": "b"},
		"names": []string{"${{ params.version }}", "x"},
		"other": 7,
	}
	got, err := Resolve(in, env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"url":   "https://x/1.2.0",
		"count": 2.0,
		"list":  []any{false, 5.0, map[string]any{"deep": 1024.0}},
		"flat":  map[string]string{"A": "2", "B": "b"},
		"names": []string{"1.2.0", "x"},
		"other": 7,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve =\n%#v\nwant\n%#v", got, want)
	}
	if in["url"] != "https://x/${{ params.version }}" {
		t.Error("Resolve changed its input")
	}
}

// TestResolveLazyBuildsEnvOnlyForExpressions: values with no expression
// never build the environment; values with several build it once.
func TestResolveLazyBuildsEnvOnlyForExpressions(t *testing.T) {
	calls := 0
	env := func() map[string]any { calls++; return testEnv() }
	plain := map[string]any{"url": "https://x/", "list": []any{"a", 1.0}, "flat": map[string]string{"A": "a"}}
	got, err := ResolveLazy(plain, env)
	if err != nil || !reflect.DeepEqual(got, plain) || calls != 0 {
		t.Fatalf("plain: got %v, %v, env built %d times; want the value back and no env", got, err, calls)
	}
	twice := map[string]any{"a": "${{ params.version }}", "b": []any{"v${{ params.replicas }}"}}
	got, err = ResolveLazy(twice, env)
	want := map[string]any{"a": "1.2.0", "b": []any{"v2"}}
	if err != nil || !reflect.DeepEqual(got, want) || calls != 1 {
		t.Fatalf("two expressions: got %v, %v, env built %d times; want %v and one build", got, err, calls, want)
	}
}

func TestResolveErrors(t *testing.T) {
	env := testEnv()
	tests := []struct {
		in   any
		want string
	}{
		{"${{ params.version + }}", "${{ params.version + }}: unexpected token EOF"},
		{"x ${{ nope }}", "${{ nope }}: unknown name nope"},
		{"${{ params.version", `unclosed ${{ in "${{ params.version"; close it with }}`},
		{map[string]any{"a": []any{"ok", "${{ 1 / }}"}}, "a: [1]: ${{ 1 / }}: unexpected token EOF"},
		{"${{ fromJSON(\"{\") }}", "${{ fromJSON(\"{\") }}: fromJSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		_, err := Resolve(tt.in, env)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Resolve(%v) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSplitTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want []segment
	}{
		{"a ${{ b }} c", []segment{{"a ", false}, {"b", true}, {" c", false}}},
		{"${{ \"}}\" }}", []segment{{`"}}"`, true}}},
		{"${{ {'a': {'b': 1}} }}!", []segment{{"{'a': {'b': 1}}", true}, {"!", false}}},
		{"${{a}}${{b}}", []segment{{"a", true}, {"b", true}}},
		{"$ {{ x }}", []segment{{"$ {{ x }}", false}}},
	}
	for _, tt := range tests {
		got, err := splitTemplate(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitTemplate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRewriteHyphens(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"tasks.deploy-a.outputs.x", `tasks["deploy-a"].outputs.x`},
		{"context.cloud.my-key", `context.cloud["my-key"]`},
		{"tasks.a-b-c.outputs.my_out-put", `tasks["a-b-c"].outputs["my_out-put"]`},
		{"tasks?.deploy-a?.status", `tasks?.["deploy-a"]?.status`},
		{"tasks[\"x\"].deploy-a", `tasks["x"]["deploy-a"]`},
		// Subtraction with blanks, digits after the hyphen, and calls stay.
		{"params.a - params.b", "params.a - params.b"},
		{"params.n-1", "params.n-1"},
		{"params.n-len(params.tags)", "params.n-len(params.tags)"},
		{"a-b", "a-b"},
		// String literals are left alone.
		{`"tasks.deploy-a" + 'x.y-z' + ` + "`a.b-c`", `"tasks.deploy-a" + 'x.y-z' + ` + "`a.b-c`"},
		{`"say \"a.b-c\"" + params.x-y`, `"say \"a.b-c\"" + params["x-y"]`},
		// Numbers and ranges are not member access.
		{"1.5-x", "1.5-x"},
		{"1..a-b", "1..a-b"},
		{"map(xs, .a-b)", "map(xs, .a-b)"},
	}
	for _, tt := range tests {
		if got := rewriteHyphens(tt.in); got != tt.want {
			t.Errorf("rewriteHyphens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSubtractionNeedsBlanks(t *testing.T) {
	env := NewEnv(map[string]any{"a": 5.0, "b": 2.0, "a-b": "key"}, nil, nil, RunInfo{})
	for in, want := range map[string]any{
		"${{ params.a - params.b }}": 3.0,
		"${{ params.a-b }}":          "key",
		"${{ params.a - 1 }}":        4.0,
		"${{ params.a-1 }}":          4.0,
	} {
		if got, err := Resolve(in, env); err != nil || got != want {
			t.Errorf("Resolve(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestQuoteIsSafeInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	env := NewEnv(map[string]any{}, nil, nil, RunInfo{})
	for _, s := range []string{"plain", "", "it's", "$(touch /tmp/pwned) `id` ; rm -rf /", "a\nb", `'\''`, "*", "-n"} {
		env["params"] = map[string]any{"v": s}
		script, err := Resolve(`printf %s ${{ quote(params.v) }}`, env)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sh, "-c", script.(string)).Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", script, err)
		}
		if string(out) != s {
			t.Errorf("quote(%q) through sh gave %q", s, out)
		}
	}
	if got := ShellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("ShellQuote = %s", got)
	}
}

func TestNewEnvNesting(t *testing.T) {
	env := NewEnv(nil, nil, map[string]string{
		"cloud.instances":  "i-1",
		"cloud.region":     "eu",
		"cloud":            "shadowed",
		"a.b.c":            "deep",
		"plain":            "p",
		"x.y":              "kept",
		"x.y.z":            "wins",
		"cloud.net.subnet": "s-1",
	}, RunInfo{})
	want := map[string]any{
		"cloud": map[string]any{"instances": "i-1", "region": "eu", "net": map[string]any{"subnet": "s-1"}},
		"a":     map[string]any{"b": map[string]any{"c": "deep"}},
		"plain": "p",
		"x":     map[string]any{"y": map[string]any{"z": "wins"}},
	}
	if !reflect.DeepEqual(env["context"], want) {
		t.Errorf("context =\n%#v\nwant\n%#v", env["context"], want)
	}
	if env["params"] == nil || env["tasks"] == nil {
		t.Error("params and tasks must be maps even when nil was given")
	}
	got, err := Resolve("${{ context.cloud.net.subnet }} ${{ context.nope.deeper }}", env)
	if err != nil || got != "s-1 " {
		t.Errorf("Resolve = %q, %v", got, err)
	}
}

func TestContextConflict(t *testing.T) {
	ctx := map[string]string{"cloud.instances": "i-1", "region": "eu", "cloudy": "x"}
	tests := []struct {
		key      string
		other    string
		conflict bool
	}{
		{"cloud.region", "", false},
		{"cloud.instances", "", false}, // overwriting is fine
		{"cloud", "cloud.instances", true},
		{"region.zone", "region", true},
		{"cloud.instances.first", "cloud.instances", true},
		{"clou", "", false},
		{"cloudy.x", "cloudy", true},
	}
	for _, tt := range tests {
		other, conflict := ContextConflict(ctx, tt.key)
		if other != tt.other || conflict != tt.conflict {
			t.Errorf("ContextConflict(%q) = %q, %v; want %q, %v", tt.key, other, conflict, tt.other, tt.conflict)
		}
	}
}

func TestTruthy(t *testing.T) {
	for _, v := range []any{false, nil, "", "false", "FALSE", " false ", "0", 0, 0.0, int64(0), uint8(0)} {
		if Truthy(v) {
			t.Errorf("Truthy(%#v) = true", v)
		}
	}
	for _, v := range []any{true, "true", "no", "x", 1, -1.5, []any{}, map[string]any{}, "00"} {
		if !Truthy(v) {
			t.Errorf("Truthy(%#v) = false", v)
		}
	}
}

func TestEvalIf(t *testing.T) {
	env := testEnv()
	tests := []struct {
		cond string
		want bool
	}{
		{"", true},
		{"true", true},
		{"false", false},
		{"${{ params.dry_run }}", false},
		{"${{ !params.dry_run }}", true},
		{"${{ tasks.lint.status == 'skipped' }}", true},
		{"${{ tasks.build.outputs.missing }}", false},
	}
	for _, tt := range tests {
		if got, err := EvalIf(tt.cond, env); err != nil || got != tt.want {
			t.Errorf("EvalIf(%q) = %v, %v; want %v", tt.cond, got, err, tt.want)
		}
	}
}

func TestBareExpressions(t *testing.T) {
	env := map[string]any{
		"facts":   map[string]any{"os": "linux", "cpus": 8.0, "my-gpu": "none"},
		"event":   "push",
		"payload": map[string]any{"ref": "refs/heads/main"},
	}
	tests := []struct {
		expr string
		want bool
	}{
		{`facts.os == "linux"`, true},
		{`facts.cpus >= 4 && facts.os == "linux"`, true},
		{`facts.my-gpu == "none"`, true},
		{`event == "push" and payload.ref endsWith "/main"`, true},
		{`facts.missing`, false},
		{`payload.ref`, true},
	}
	for _, tt := range tests {
		if got, err := EvalBool(tt.expr, env); err != nil || got != tt.want {
			t.Errorf("EvalBool(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
	checks := []struct {
		expr  string
		roots []string
		err   string
	}{
		{`facts.os == "linux"`, []string{"facts"}, ""},
		{`event == "push"`, []string{"event", "payload"}, ""},
		{`params.x`, []string{"facts"}, "unknown name params"},
		{`facts.os ==`, []string{"facts"}, "unexpected token EOF"},
		{`${{ facts.os }}`, []string{"facts"}, "write a bare expression here, without ${{ }}"},
		{``, []string{"facts"}, "empty expression"},
	}
	for _, c := range checks {
		err := CheckExpr(c.expr, c.roots...)
		if (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("CheckExpr(%q) = %v, want %q", c.expr, err, c.err)
		}
	}
}

func TestExpressionLimits(t *testing.T) {
	env := testEnv()
	for _, src := range []string{
		"${{ map(1..10000000, # * 2) }}",
		"${{ len(map(1..2000, map(1..2000, #))) }}",
		`${{ repeat("x", 1000) }}${{ repeat(repeat("x", 1000000), 1000000) }}`,
		"${{ " + strings.Repeat("1 + ", 2000) + "1 }}",
	} {
		if _, err := Resolve(src, env); err == nil {
			t.Errorf("Resolve(%.40q...) should fail on a limit", src)
		}
	}
}

func TestCompileCacheConcurrent(t *testing.T) {
	env := testEnv()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				src := "${{ params.replicas + " + strings.Repeat("1 + ", (i+j)%7) + "0 }}"
				if _, err := Resolve(src, env); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"s", "s"},
		{2.0, "2"},
		{1e21, "1000000000000000000000"},
		{0.25, "0.25"},
		{-3.0, "-3"},
		{7, "7"},
		{int64(-7), "-7"},
		{true, "true"},
		{[]any{1.0, "a", nil}, `[1,"a",null]`},
		{map[string]any{"b": 1.0, "a": "<&>"}, `{"a":"<&>","b":1}`},
		{[]int{1, 2}, "[1,2]"},
		{json.Number("12345678901234567890"), "12345678901234567890"},
		{json.Number("1e3"), "1000"},
		{90 * time.Second, "1m30s"},
		{map[string]any{"wait": 90 * time.Second, "list": []any{time.Minute}}, `{"list":["1m0s"],"wait":"1m30s"}`},
		{uint32(7), "7"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
