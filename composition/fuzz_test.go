package composition

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes through everything that reads a file:
// nothing may panic, and a file without problems must survive Format.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, n := range names {
		if src, err := os.ReadFile(n); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"",
		"name: x\ntasks:\n  - id: a\n    run: echo ${{ params.x }}\n",
		"name: x\ntasks:\n  - {id: a, run: x, needs: [b]}\n  - {id: b, run: x, needs: [a]}\n",
		"a: &a [*a]\n",
		"<<: {name: x}\ntasks: [{id: a, run: x}]\n",
		"name: x\ntasks:\n- id: a\n  type: http\n  with: {url: !!str 5, n: .nan, m: 0x1F}\n",
		"name: x\nparams: {p: {type: list, enum: [a], default: a}}\ntasks: [{id: a, run: \"${{ tasks.a-b.x }}\"}]\n",
		"name: x\ntasks:\n  - id: a\n    run: |\n      a\n        b\n    if: ${{ {\"a\": {\"b\": 1}} }}\n",
		"# head\n\nname: x  # n\ntasks:  # t\n  # a\n  - id: a  # first\n    run: |  # script\n      # text\n    needs: [] # none\n\n  - {id: b, run: x}  # flow\n# foot\n",
	} {
		f.Add([]byte(s))
	}
	cat := testCatalog()
	env := testEnv()
	f.Fuzz(func(t *testing.T, src []byte) {
		c, probs := Parse("fuzz.yaml", src)
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("problem without a message: %#v", p)
			}
		}
		if c == nil {
			if len(probs) == 0 {
				t.Fatal("nil composition without a problem")
			}
			return
		}
		vprobs := Validate(c, cat)
		_ = c.Layers()
		for _, task := range c.Tasks {
			_, _ = Resolve(task.With, env)
			_, _ = EvalIf(task.If, env)
		}
		out, err := Format(c)
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		if len(probs) > 0 || len(vprobs) > 0 || !utf8.Valid(src) || bytes.Contains(out, []byte(".nan")) {
			return
		}
		again, p2 := Parse("again.yaml", out)
		if len(p2) > 0 {
			t.Fatalf("formatted file has problems: %v\n%s", p2, out)
		}
		if !sameComposition(c, again) {
			t.Fatalf("round trip changed the composition:\n%s\n got %s\nwant %s", out, dump(again), dump(c))
		}
		// Comments written back never change the meaning either.
		kept, err := FormatKeeping(c, ReadComments(src))
		if err != nil {
			t.Fatalf("FormatKeeping: %v", err)
		}
		again, p2 = Parse("kept.yaml", kept)
		if len(p2) > 0 {
			t.Fatalf("file formatted with its comments has problems: %v\n%s", p2, kept)
		}
		if !sameComposition(c, again) {
			t.Fatalf("comments changed the composition:\n%s\n got %s\nwant %s", kept, dump(again), dump(c))
		}
	})
}

// FuzzTemplate checks that no template makes Resolve or the hyphen rewrite
// panic.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"${{ params.version }}",
		"x ${{ tasks.deploy-a.outputs.url }} y",
		"${{ \"}}\" }}",
		"${{ {'a': [1, 2]} }}",
		"${{ tasks?.a-b?.[\"c-d\"] }}",
		"${{ quote(toJSON(fromJSON('[1]'))) }}",
		"${{",
	} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, s string) {
		_ = rewriteHyphens(s)
		_, _ = Resolve(s, env)
		_ = CheckExpr(s, "facts")
	})
}

// FuzzFormat builds compositions around arbitrary strings and numbers and
// checks that Format writes YAML that reads back as the same composition.
func FuzzFormat(f *testing.F) {
	f.Add("plain", "echo hi\n", 2.0)
	f.Add("  leading\nlines\n\n", "a: b # c", 1e300)
	f.Add("${{ params.x }}", "- item", -0.5)
	f.Add("\t\x01\u2028", "'quoted'\n  indented\n", 1e-9)
	f.Add("yes", "0x1F", 9007199254740993.0)
	f.Fuzz(func(t *testing.T, s1, s2 string, n float64) {
		if !utf8.ValidString(s1) || !utf8.ValidString(s2) || n != n {
			return
		}
		c := &Composition{
			Name:        "fuzz",
			Description: s1,
			Params:      []Param{{Name: "p", Type: TypeString, Default: s2, Enum: []any{s2, s1}, Description: s2}},
			Outputs:     map[string]any{s1: s2, "n": n},
			Tasks: []*Task{
				{ID: "a", Name: s2, Type: ShellTaskType, Run: s2, With: map[string]any{"run": s2}},
				{ID: "b", Type: "http", NeedsGiven: true, Needs: []string{"a"}, If: s1,
					With: map[string]any{"k": s1, "n": n, "l": []any{s1, s2, n, []any{s2}, map[string]any{s2: s1}}},
					Env:  map[string]string{"A": s1, "B": s2}, Index: 1,
				},
			},
		}
		out, err := Format(c)
		if err != nil {
			t.Fatal(err)
		}
		again, probs := Parse("fuzz.yaml", out)
		if again == nil {
			t.Fatalf("formatted YAML does not parse: %v\n%s", probs, out)
		}
		// Parse reads a shell task's with.run into Run; mirror that.
		if s2 == "" {
			c.Tasks[0].Run = ""
		}
		if !sameComposition(c, again) {
			t.Fatalf("round trip changed the composition:\n%s\n got %s\nwant %s", out, dump(again), dump(c))
		}
	})
}
