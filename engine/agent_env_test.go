package engine_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"baton/model"
)

// TestLocalAgentInExpressions: a task on the server's own executor sees
// agent.name "local" and the server's facts; it has no labels or pools.
func TestLocalAgentInExpressions(t *testing.T) {
	h := newHarness(t, `
name: where
tasks:
  - id: show
    env: {CPUS: "${{ agent.facts.cpus }}"}
    run: echo "${{ agent.name }} ${{ agent.facts.os }}/${{ agent.facts.arch }} on ${{ agent.facts.hostname }} cpus=$CPUS labels=${{ toJSON(agent.labels) }} pools=${{ toJSON(agent.pools) }}"
`)
	r := h.waitDone(h.startRun("where", nil).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run %s: %s\n%s", r.Status, r.Error, h.logText(r.ID))
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("show|local %s/%s on %s cpus=%d labels={} pools=[]\n", runtime.GOOS, runtime.GOARCH, host, runtime.NumCPU())
	if log := h.logText(r.ID); !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
}
