package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"baton/agentd"
	"baton/engine"
	"baton/model"
	"baton/plugin"
)

// newAgentToken makes an agent token through the API and returns it with
// its id.
func (f *fleet) newAgentToken(body string) (token string, id int64) {
	f.t.Helper()
	var out agentTokenJSON
	f.do("POST", "/api/v1/agent-tokens", body, http.StatusCreated, &out)
	return out.Token, out.ID
}

// waitOffline polls until the server no longer has the agent online and
// returns how long that took.
func (f *fleet) waitOffline(name string, since time.Time) time.Duration {
	f.t.Helper()
	deadline := since.Add(10 * time.Second)
	for f.agentStatus(name) == "online" {
		if time.Now().After(deadline) {
			f.t.Fatalf("agent %s is still online %s after it was cut off", name, time.Since(since).Round(time.Millisecond))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(since)
}

// TestAgentCutOff: revoking an agent's token (through the API or, as the
// command line does, straight in the database) or resetting its credential
// closes its connection; the agent stops, its job fails as agent_lost
// after the grace period, and no new job goes to it. The server does it
// within a second (a 500 ms poll for tokens revoked elsewhere, then the
// cut); the test allows 5 s for that and its own polling on a loaded
// machine, and logs the time it measured.
func TestAgentCutOff(t *testing.T) {
	tests := []struct {
		name string
		cut  func(f *fleet, tokenID int64)
		// stopped checks why the agent stopped.
		stopped func(err error) bool
	}{
		{"token revoked through the API", func(f *fleet, id int64) {
			f.do("DELETE", fmt.Sprintf("/api/v1/agent-tokens/%d", id), "", http.StatusNoContent, nil)
		}, func(err error) bool { return errors.Is(err, agentd.ErrTokenRefused) || isFatal(err, "revoked") }},
		{"token revoked from the command line", func(f *fleet, id int64) {
			if err := f.store.DeleteAgentToken(context.Background(), id); err != nil {
				f.t.Fatal(err)
			}
		}, func(err error) bool { return errors.Is(err, agentd.ErrTokenRefused) || isFatal(err, "revoked") }},
		{"credential reset", func(f *fleet, _ int64) {
			f.do("DELETE", "/api/v1/agents/cut/credential", "", http.StatusNoContent, nil)
		}, func(err error) bool { return isFatal(err, "credential") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{AgentGrace: 2 * time.Second})
			token, id := f.newAgentToken(`{"name": "cut"}`)
			ag := f.launch("cut", agentOpts{pools: []string{"c"}, token: token})
			f.waitAgent("cut", "online")
			f.do("PUT", "/api/v1/compositions/long", "name: long\nrequires: {pool: c}\ntasks:\n  - id: t\n    run: echo started; sleep 60\n", http.StatusCreated, nil)
			var run runJSON
			f.do("POST", "/api/v1/compositions/long/runs", "", http.StatusCreated, &run)
			f.waitRun(run.ID, func(r runJSON) bool { return r.LogLines != nil && *r.LogLines >= 1 })

			began := time.Now()
			tt.cut(f, id)
			took := f.waitOffline("cut", began)
			t.Logf("%s: the agent was offline %s after the cut", tt.name, took.Round(time.Millisecond))
			if took > 5*time.Second {
				t.Errorf("the connection closed %s after the cut, want within 5 s (the server aims at 1 s; 5 s allows for a loaded machine)", took.Round(time.Millisecond))
			}
			if err := ag.ended(t, 10*time.Second); !tt.stopped(err) {
				t.Errorf("the agent stopped with %v", err)
			}
			r := f.waitRun(run.ID, func(r runJSON) bool { return r.Status == "failed" })
			if !strings.Contains(r.Tasks[0].Error, "agent_lost") {
				t.Errorf("the cut-off agent's task ended %s: %q, want agent_lost", r.Tasks[0].Status, r.Tasks[0].Error)
			}
			var next runJSON
			f.do("POST", "/api/v1/compositions/long/runs", "", http.StatusCreated, &next)
			next = f.waitRun(next.ID, func(r runJSON) bool { return strings.Contains(r.QueueReason, "none is online") })
			if next.Status != "queued" || next.Agent != "" {
				t.Errorf("a new run after the cut: %s on %q", next.Status, next.Agent)
			}
		})
	}
}

// isFatal reports whether err is the agent's fatal error and mentions what.
func isFatal(err error, what string) bool {
	var fatal *agentd.FatalError
	return errors.As(err, &fatal) && strings.Contains(fatal.Msg, what)
}

// TestAgentTokenScope: a token limited to a name pattern, pools and labels
// lets in only agents that keep within them; others are refused with a
// message saying what is not allowed, and stop.
func TestAgentTokenScope(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	token, _ := f.newAgentToken(`{"name": "deployers", "name_pattern": "deploy-*", "pools": ["deploy", "canary"], "labels": {"zone": "eu", "team": "*"}}`)
	tests := []struct {
		name   string
		pools  []string
		labels map[string]string
		refuse string // in the agent's error; "" when it is let in
	}{
		{"deploy-1", []string{"deploy"}, map[string]string{"zone": "eu", "team": "payments"}, ""},
		{"deploy-2", nil, nil, ""},
		{"deploy-3", []string{"deploy", "prod"}, nil, `pool "prod"`},
		{"build-1", []string{"deploy"}, nil, `name "build-1"`},
		{"deploy-4", nil, map[string]string{"zone": "us"}, `label zone=us`},
		{"deploy-5", nil, map[string]string{"gpu": "yes"}, `label gpu=yes`},
	}
	for _, tt := range tests {
		ag := f.launch(tt.name, agentOpts{pools: tt.pools, labels: tt.labels, token: token})
		if tt.refuse == "" {
			f.waitAgent(tt.name, "online")
			continue
		}
		if err := ag.ended(t, 15*time.Second); !isFatal(err, tt.refuse) {
			t.Errorf("%s: the agent stopped with %v, want a refusal naming %s", tt.name, err, tt.refuse)
		}
		if st := f.agentStatus(tt.name); st == "online" {
			t.Errorf("%s: online", tt.name)
		}
	}
	// The scope shows in the list; a bad one is refused with what to fix.
	var list struct {
		AgentTokens []struct {
			Name        string            `json:"name"`
			NamePattern string            `json:"name_pattern"`
			Pools       []string          `json:"pools"`
			Labels      map[string]string `json:"labels"`
		} `json:"agent_tokens"`
	}
	f.do("GET", "/api/v1/agent-tokens", "", http.StatusOK, &list)
	var found bool
	for _, tok := range list.AgentTokens {
		if tok.Name == "deployers" {
			found = tok.NamePattern == "deploy-*" && len(tok.Pools) == 2 && tok.Labels["team"] == "*"
		}
	}
	if !found {
		t.Errorf("the token's scope is not in the list: %+v", list)
	}
	for body, want := range map[string]string{
		`{"name": "x", "name_pattern": "deploy-["}`: "name_pattern",
		`{"name": "x", "pools": ["no spaces"]}`:     "pools",
		`{"name": "x", "labels": {"": "v"}}`:        "labels",
	} {
		var e apiError
		f.do("POST", "/api/v1/agent-tokens", body, http.StatusBadRequest, &e)
		if !strings.Contains(e.Error, want) {
			t.Errorf("%s: error %q does not name %s", body, e.Error, want)
		}
	}
}

// TestAgentTokenLimitsOperatorSettings: the pools and labels an operator
// set on an agent count against the limits of the token an agent connects
// with, as the ones it claims do. A machine with a token limited to pool
// build cannot take over a freed name that an operator put in pool prod,
// nor a name recorded before credentials; it is refused, told what to do,
// and claims nothing. An operator cannot give a connected agent a pool its
// token does not allow, and an agent given one while away is refused when
// it comes back.
func TestAgentTokenLimitsOperatorSettings(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	limited, _ := f.newAgentToken(`{"name": "builders", "pools": ["build"], "labels": {"zone": "*"}}`)
	registered := func(name string) bool {
		var a agentJSON
		f.do("GET", "/api/v1/agents/"+name, "", http.StatusOK, &a)
		return a.Registered
	}
	refused := func(name, want string, o agentOpts) {
		t.Helper()
		o.token = limited
		ag := f.launch(name, o)
		if err := ag.ended(t, 15*time.Second); !isFatal(err, want) || !isFatal(err, "an operator set") {
			t.Errorf("%s: the agent stopped with %v, want a refusal naming %s and what to do", name, err, want)
		}
		if st := f.agentStatus(name); st == "online" {
			t.Errorf("%s: online", name)
		}
	}

	// A name freed by a credential reset, with an operator's pool.
	stop := f.startAgent("deploy-1", agentOpts{pools: []string{"deploy"}})
	stop()
	f.waitAgent("deploy-1", "offline")
	f.do("PATCH", "/api/v1/agents/deploy-1", `{"pools": ["prod"]}`, http.StatusOK, nil)
	f.do("DELETE", "/api/v1/agents/deploy-1/credential", "", http.StatusNoContent, nil)
	refused("deploy-1", `pool "prod"`, agentOpts{pools: []string{"build"}})
	if registered("deploy-1") {
		t.Errorf("the refused agent registered the name")
	}
	// An operator's label the token does not allow.
	f.do("PATCH", "/api/v1/agents/deploy-1", `{"pools": [], "labels": {"tier": "gold"}}`, http.StatusOK, nil)
	refused("deploy-1", `label tier=gold`, agentOpts{pools: []string{"build"}})
	// Within the limits once the operator's settings are.
	f.do("PATCH", "/api/v1/agents/deploy-1", `{"labels": {"zone": "eu"}}`, http.StatusOK, nil)
	f.startAgent("deploy-1", agentOpts{pools: []string{"build"}, token: limited})

	// A name recorded before credentials existed (no credential holds it).
	now := time.Now()
	if err := f.store.AgentConnected(context.Background(), &model.Agent{Name: "old-1", Slots: 1, ConnectedAt: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AgentDisconnected(context.Background(), "old-1", now, "before the upgrade"); err != nil {
		t.Fatal(err)
	}
	f.do("PATCH", "/api/v1/agents/old-1", `{"pools": ["prod"]}`, http.StatusOK, nil)
	refused("old-1", `pool "prod"`, agentOpts{})
	if registered("old-1") {
		t.Errorf("the refused agent registered the old name")
	}

	// A connected agent of the limited token: the operator is told no.
	workdir := t.TempDir()
	stop = f.startAgent("build-7", agentOpts{pools: []string{"build"}, token: limited, workdir: workdir})
	var e apiError
	f.do("PATCH", "/api/v1/agents/build-7", `{"pools": ["prod"]}`, http.StatusConflict, &e)
	if !strings.Contains(e.Error, `pool "prod"`) || !strings.Contains(e.Error, "builders") {
		t.Errorf("giving a connected agent a pool its token does not allow: %q", e.Error)
	}
	f.do("PATCH", "/api/v1/agents/build-7", `{"pools": ["build"], "labels": {"zone": "us"}}`, http.StatusOK, nil)
	// Given one while away, it is refused when it comes back.
	stop()
	f.waitAgent("build-7", "offline")
	f.do("PATCH", "/api/v1/agents/build-7", `{"pools": ["prod"]}`, http.StatusOK, nil)
	refused("build-7", `pool "prod"`, agentOpts{pools: []string{"build"}, workdir: workdir})
}

// TestAgentRemove: an offline agent can be removed, through the API or
// its page, and its name is free again; a connected one is not removed
// and the answer says what to do.
func TestAgentRemove(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	stop := f.startAgent("old", agentOpts{})
	var e apiError
	f.do("DELETE", "/api/v1/agents/old", "", http.StatusConflict, &e)
	if !strings.Contains(e.Error, "connected") || !strings.Contains(e.Error, "stop") {
		t.Errorf("removing a connected agent: %q", e.Error)
	}
	stop()
	f.waitAgent("old", "offline")
	f.do("DELETE", "/api/v1/agents/old", "", http.StatusNoContent, nil)
	f.do("GET", "/api/v1/agents/old", "", http.StatusNotFound, nil)
	f.do("DELETE", "/api/v1/agents/old", "", http.StatusNotFound, nil)
	f.do("DELETE", "/api/v1/agents/local", "", http.StatusBadRequest, nil)
	// Another machine (a new workdir) may take the name now.
	f.startAgent("old", agentOpts{})

	// The button on the agent's page.
	stop = f.startAgent("paged", agentOpts{})
	c := f.browserClient()
	f.login(c)
	_, body := f.page(c, "GET", "/agents/paged", nil)
	if b := byTestID(t, body, "remove-agent"); len(b) != 1 || !hasAttr(b[0], "disabled") {
		t.Errorf("the page of a connected agent should show a disabled remove button")
	}
	resp, _ := f.page(c, "POST", "/agents/paged/remove", url.Values{})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("removing a connected agent from its page: %d, want 409", resp.StatusCode)
	}
	stop()
	f.waitAgent("paged", "offline")
	_, body = f.page(c, "GET", "/agents/paged", nil)
	if b := byTestID(t, body, "remove-agent"); len(b) != 1 || hasAttr(b[0], "disabled") {
		t.Errorf("the page of an offline agent should show a remove button")
	}
	resp, _ = f.page(c, "POST", "/agents/paged/remove", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agents" {
		t.Errorf("remove from the page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := f.agentStatus("paged"); st != "" {
		t.Errorf("after removal the agent is %q", st)
	}
}

// TestAgentExpire: an agent not seen for the expiry period is removed; a
// connected one never is, however long ago its last sign of life was
// written down (the server writes it at most once a minute).
func TestAgentExpire(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{AgentExpire: time.Second})
	// here's recorded sign of life is older than gone's: the sweep that
	// removes gone has looked at here too.
	f.startAgent("here", agentOpts{})
	stop := f.startAgent("gone", agentOpts{})
	stop()
	f.waitAgent("gone", "offline")
	deadline := time.Now().Add(15 * time.Second)
	for f.agentStatus("gone") != "" {
		if time.Now().After(deadline) {
			t.Fatal("the offline agent was not expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := f.agentStatus("here"); st != "online" {
		t.Errorf("the connected agent is %q", st)
	}
}

// hasAttr reports whether an element has an attribute.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestAgentTokensPageScope: the Settings → Agent tokens page makes a token
// with limits, shows them, keeps what was typed when a limit is bad; the
// Reset credential button of an agent's page disconnects the agent.
func TestAgentTokensPageScope(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	c := f.browserClient()
	f.login(c)
	resp, body := f.page(c, "POST", "/settings/agent-tokens", url.Values{"name": {"ci"}, "name_pattern": {"ci-["}, "pools": {"build"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "is not a name pattern") || !strings.Contains(body, `value="ci-["`) {
		t.Errorf("a bad pattern: %d, the page should say so and keep the form", resp.StatusCode)
	}
	resp, body = f.page(c, "POST", "/settings/agent-tokens", url.Values{"name": {"ci"}, "name_pattern": {"ci-*"},
		"pools": {"build, test"}, "labels": {"zone=eu\nteam=*\n"}})
	shown := byTestID(t, body, "new-agent-token")
	if resp.StatusCode != http.StatusOK || len(shown) != 1 {
		t.Fatalf("create: %d, token shown %d times", resp.StatusCode, len(shown))
	}
	token := ""
	for _, w := range strings.Fields(textOf(shown[0])) {
		if strings.HasPrefix(w, "baton_") {
			token = w
		}
	}
	rows := byTestID(t, body, "agent-token-row")
	if len(rows) != 2 || !strings.Contains(textOf(rows[0]), "names ci-*; pools build, test; labels team=*, zone=eu") {
		t.Errorf("the list does not show the limits: %d rows, first %q", len(rows), textOf(rows[0]))
	}
	resp, body = f.page(c, "POST", "/settings/agent-tokens", url.Values{"name": {"ci2"}, "labels": {"zone=eu\ngpu\n"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `label &#34;gpu&#34;: write it as key=value`) {
		t.Errorf("a label without =: %d, the page should name it", resp.StatusCode)
	}
	f.startAgent("ci-1", agentOpts{pools: []string{"build"}, token: token})
	// The agent's page: a bad label, and a pool its token does not allow.
	resp, body = f.page(c, "POST", "/agents/ci-1", url.Values{"set": {"1"}, "pools": {"build"}, "labels": {"gpu"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `label &#34;gpu&#34;: write it as key=value`) {
		t.Errorf("an agent label without =: %d, the page should name it", resp.StatusCode)
	}
	resp, body = f.page(c, "POST", "/agents/ci-1", url.Values{"set": {"1"}, "pools": {"prod"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `does not allow pool &#34;prod&#34;`) {
		t.Errorf("a pool the agent's token does not allow: %d, the page should say so", resp.StatusCode)
	}
	refused := f.launch("cd-1", agentOpts{pools: []string{"build"}, token: token})
	if err := refused.ended(t, 15*time.Second); !isFatal(err, `name "cd-1"`) {
		t.Errorf("an agent outside the pattern: %v", err)
	}

	_, body = f.page(c, "GET", "/agents/ci-1", nil)
	if b := byTestID(t, body, "reset-credential"); len(b) != 1 {
		t.Fatal("no Reset credential button on a registered agent's page")
	}
	resp, _ = f.page(c, "POST", "/agents/ci-1/reset-credential", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agents/ci-1" {
		t.Errorf("reset from the page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	f.waitOffline("ci-1", time.Now())
	_, body = f.page(c, "GET", "/agents/ci-1", nil)
	if id := byTestID(t, body, "agent-identity"); len(id) != 1 || !strings.Contains(textOf(id[0]), "No credential holds this name") {
		t.Errorf("after the reset the page should say no credential holds the name")
	}
}
