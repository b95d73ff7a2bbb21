package trigger

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolveParams(t *testing.T) {
	env := (&Delivery{
		Event:   "push",
		ID:      "d-1",
		Payload: map[string]any{"after": "abc", "size": 3.0, "commits": []any{"a", "b"}, "pusher": map[string]any{"name": "x-y"}},
		Headers: map[string]string{"user-agent": "GitHub-Hookshot/1"},
	}).Env("github-app")
	spec := RunSpec{Composition: "build", Params: map[string]any{
		"version": "${{ payload.after }}",
		"size":    " ${{ payload.size * 2 }} ",
		"text":    "v${{ payload.size }}-${{ event }}",
		"list":    []any{"${{ payload.commits }}", "${{ len(payload.commits) }}", 7.0},
		"nested":  map[string]any{"who": "${{ payload.pusher.name }} via ${{ headers[\"user-agent\"] }}", "flag": true},
		"missing": "${{ payload.nothing.here }}",
		"plain":   "no templates } here",
		"where":   "${{ trigger }}/${{ delivery }}",
		"braces":  `${{ {"a": {"b": 1}}.a.b }}`,
	}}
	got, err := spec.ResolveParams(env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "abc",
		"size":    6.0,
		"text":    "v3-push",
		"list":    []any{[]any{"a", "b"}, 2, 7.0},
		"nested":  map[string]any{"who": "x-y via GitHub-Hookshot/1", "flag": true},
		"missing": nil,
		"plain":   "no templates } here",
		"where":   "github-app/d-1",
		"braces":  1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%#v\nwant\n%#v", got, want)
	}
	if !strings.Contains(spec.Params["version"].(string), "${{") {
		t.Error("ResolveParams changed the rule")
	}

	bad := RunSpec{Params: map[string]any{"a": []any{"ok", "${{ payload.size + }}"}}}
	if _, err := bad.ResolveParams(env); err == nil || !strings.HasPrefix(err.Error(), "a: [1]: ${{ payload.size + }}") {
		t.Errorf("error = %v", err)
	}
	if got, err := (RunSpec{}).ResolveParams(env); got != nil || err != nil {
		t.Errorf("no params = %v, %v", got, err)
	}
}
