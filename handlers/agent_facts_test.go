package handlers

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"baton/engine"
	"baton/plugin"
)

// TestAgentFactsInExpressions: a work task's with, run and env see the
// agent it runs on (its name, facts, labels with an operator's on top, and
// pools), also when the task's own requires send it to another agent than
// the run's.
func TestAgentFactsInExpressions(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("builder", agentOpts{pools: []string{"build"}, labels: map[string]string{"zone": "eu", "disk": "hdd"}})
	f.startAgent("signer", agentOpts{pools: []string{"hsm"}})
	f.do("PATCH", "/api/v1/agents/builder", `{"labels": {"disk": "ssd"}}`, http.StatusOK, nil)
	f.do("PUT", "/api/v1/compositions/facts", `name: facts
requires: {pool: build}
tasks:
  - id: where
    run: echo "on ${{ agent.name }} os=${{ agent.facts.os }} version=${{ agent.facts.agent_version }} zone=${{ agent.labels.zone }} disk=${{ agent.labels.disk }} pools=${{ join(agent.pools, ',') }}"
  - id: sign
    requires: {pool: hsm}
    env: {WHO: "${{ agent.name }}", POOLS: "${{ agent.pools }}"}
    run: echo "signed by $WHO in $POOLS"
`, http.StatusCreated, nil)
	r := f.run("facts")
	if r.Status != "succeeded" {
		t.Fatalf("run: %+v\n%s", r, f.logText(r.ID))
	}
	log := f.logText(r.ID)
	for _, want := range []string{
		fmt.Sprintf("where|on builder os=%s version=test zone=eu disk=ssd pools=build\n", runtime.GOOS),
		`sign|signed by signer in ["hsm"]` + "\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestUnresolvedFieldFreesTheSlot: a task whose own requires placed it on
// another agent, and whose fields then fail to resolve, gives that agent's
// slot back; it used to keep it, and the agent took no more work.
func TestUnresolvedFieldFreesTheSlot(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("builder", agentOpts{pools: []string{"build"}})
	f.startAgent("signer", agentOpts{pools: []string{"hsm"}})
	f.do("PUT", "/api/v1/compositions/broken", `name: broken
requires: {pool: build}
tasks:
  - id: sign
    type: http
    requires: {pool: hsm}
    with: {url: "${{ context.signing_url }}"}
`, http.StatusCreated, nil)
	r := f.run("broken")
	if r.Status != "failed" || !strings.Contains(r.Tasks[0].Error, `field "url" is required`) {
		t.Fatalf("run: %+v", r)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var a agentJSON
		f.do("GET", "/api/v1/agents/signer", "", http.StatusOK, &a)
		if a.SlotsUsed == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("signer still has %d of its %d slots taken after the run ended", a.SlotsUsed, a.Slots)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
