package composition

import (
	"errors"
	"slices"
	"testing"
)

// TestValidateAgentReferences: agent is a root in the with, run and env
// of a task that runs on an executor, with the members name, facts,
// labels and pools; anywhere else (if, requires, outputs, on_failure, a
// control task's fields) it is a problem that says where it is known.
func TestValidateAgentReferences(t *testing.T) {
	const head = "name: x\ntasks:\n"
	// Line 3 is the first task line.
	const where = "agent is known only in the with, run and env of a task that runs on an executor (not in if, requires, outputs, on_failure or a control task): the executor is chosen just before the task starts"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"run, env and with of work tasks",
			head + "  - id: a\n    run: echo ${{ agent.name }} ${{ agent.facts.os }}\n    env: {L: \"${{ agent.labels.zone }}\", P: \"${{ join(agent.pools, ',') }}\"}\n" +
				"  - id: b\n    type: http\n    with: {url: \"http://${{ agent.facts.hostname }}/\"}\n", nil},
		{"hyphenated fact", head + "  - id: a\n    run: echo ${{ agent.facts.os-release }}\n", nil},
		{"unknown member", head + "  - id: a\n    run: echo ${{ agent.os }}\n",
			[]string{`4:10: agent.os: agent has only name, facts, labels, pools (facts are under agent.facts)`}},
		{"member with a suggestion", head + "  - id: a\n    run: echo ${{ agent.fact.os }}\n",
			[]string{`4:10: agent.fact: agent has only name, facts, labels, pools; did you mean "facts"? (facts are under agent.facts)`}},
		{"in if", head + "  - id: a\n    run: x\n    if: ${{ agent.facts.os == 'linux' }}\n",
			[]string{`5:9: ${{ agent.facts.os == 'linux' }}: ` + where}},
		{"in requires", head + "  - id: a\n    run: x\n    requires: {pool: \"${{ agent.name }}\"}\n",
			[]string{`5:22: ${{ agent.name }}: ` + where}},
		{"in a control task", head + "  - id: a\n    type: approval\n    with: {message: \"on ${{ agent.name }}?\"}\n",
			[]string{`5:21: ${{ agent.name }}: ` + where}},
		{"in outputs", "name: x\noutputs:\n  where: ${{ agent.name }}\ntasks:\n  - id: a\n    run: x\n",
			[]string{`3:10: ${{ agent.name }}: ` + where}},
		{"in on_failure", "name: x\non_failure:\n  composition: n\n  params: {on: \"${{ agent.name }}\"}\ntasks:\n  - id: a\n    run: x\n",
			[]string{`4:16: ${{ agent.name }}: ` + where}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("f.yaml", []byte(tt.src), testCatalog())
			var got []string
			if err != nil {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("Load error is %T, want Problems", err)
				}
				got = messages(ps)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestWithAgent: expressions given an environment WithAgent see the
// executor's name, facts, labels and pools; without it agent is unknown.
func TestWithAgent(t *testing.T) {
	env := WithAgent(NewEnv(map[string]any{"p": "v"}, nil, nil, RunInfo{ID: 3}),
		AgentInfo{Name: "build-1", Facts: map[string]any{"os": "linux", "cpus": float64(8), "os-release": "12"}, Labels: map[string]string{"zone": "eu"}, Pools: []string{"builders", "gpu"}})
	tests := []struct{ src, want string }{
		{"${{ agent.name }} ${{ agent.facts.os }}/${{ agent.facts.cpus }}", "build-1 linux/8"},
		{"${{ agent.labels.zone }} ${{ join(agent.pools, ',') }} ${{ params.p }} ${{ run.id }}", "eu builders,gpu v 3"},
		{"${{ agent.facts.os-release }} [${{ agent.facts.missing }}]", "12 []"},
		{"${{ 'gpu' in agent.pools }}", "true"},
	}
	for _, tt := range tests {
		v, err := Resolve(tt.src, env)
		if err != nil || FormatValue(v) != tt.want {
			t.Errorf("%s = %v (%v), want %q", tt.src, v, err, tt.want)
		}
	}
	if _, err := Resolve("${{ agent.name }}", NewEnv(nil, nil, nil, RunInfo{})); err == nil {
		t.Error("agent resolved in an environment without it")
	}
}
