package composition

import (
	"slices"
	"strconv"
	"testing"
)

func TestCheckCompositions(t *testing.T) {
	known := []string{"lint", "deploy-app"}
	for _, tc := range []struct {
		name string
		src  string
		want []string // "line:col path: message"
	}{
		{"a call to a known composition", "name: x\ntasks:\n  - id: a\n    type: composition\n    with: {name: lint}\n", nil},
		{"a call to a missing one, with a suggestion", "name: x\ntasks:\n  - id: a\n    type: composition\n    with: {name: lnit}\n",
			[]string{`5:18 tasks.0.with.name: task a (type composition) names composition "lnit" in name, which is not stored yet: fix the name, or add that composition before a run gets there; did you mean "lint"?`}},
		{"a call to itself", "name: x\ntasks:\n  - id: a\n    type: composition\n    with: {name: x}\n", nil},
		{"a name decided at run time", "name: x\ntasks:\n  - id: a\n    type: composition\n    with: {name: \"deploy-${{ params.env }}\"}\nparams:\n  env: {}\n", nil},
		{"a wait for a missing one", "name: x\ntasks:\n  - id: w\n    type: wait\n    with: {composition: nightly}\n",
			[]string{`5:25 tasks.0.with.composition: task w (type wait) names composition "nightly" in composition, which is not stored yet: fix the name, or add that composition before a run gets there`}},
		{"a wait for a run", "name: x\ntasks:\n  - id: w\n    type: wait\n    with: {run: \"12\"}\n", nil},
		{"on_failure", "name: x\non_failure: {composition: deploy-ap}\ntasks:\n  - id: a\n    run: echo\n",
			[]string{`2:27 on_failure.composition: on_failure names composition "deploy-ap", which is not stored yet: fix the name, or add that composition before a run fails; did you mean "deploy-app"?`}},
		{"a type the catalog lacks", "name: x\ntasks:\n  - id: a\n    type: unknown\n    with: {name: nope}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := Parse("", []byte(tc.src))
			var got []string
			for _, p := range CheckCompositions(c, testCatalog(), known, "is not stored yet") {
				got = append(got, fmtPos(p)+" "+p.Path+": "+p.Message)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := CheckCompositions(nil, testCatalog(), known, ""); got != nil {
		t.Errorf("nil composition: %v", got)
	}
}

func fmtPos(p Problem) string {
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}
