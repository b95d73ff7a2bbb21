package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"baton/trigger"
)

func TestTriggerAPIAndPages(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)

	// Invalid: every problem with its position, nothing stored.
	var e apiError
	a.do("PUT", "/api/v1/triggers/gh", "name: gh\nkind: gihub\nrules:\n  - when: '${{ event }}'\n    run: {composition: hello}\n", http.StatusUnprocessableEntity, &e)
	if len(e.Details) < 2 || e.Details[0].Line == 0 {
		t.Fatalf("problems = %+v", e)
	}
	var list struct{ Triggers []triggerJSON }
	a.do("GET", "/api/v1/triggers", "", http.StatusOK, &list)
	if len(list.Triggers) != 0 {
		t.Fatalf("an invalid trigger was stored: %+v", list)
	}

	const secret = "s3cret-value-for-test"
	src := fmt.Sprintf(`name: gh
kind: github
secret: %s
rules:
  - name: greet on push
    when: 'event == "push"'
    run: {composition: hello, params: {who: "${{ payload.pusher.name }}"}}
`, secret)
	var tj triggerJSON
	a.do("PUT", "/api/v1/triggers/gh", src, http.StatusCreated, &tj)
	if tj.HookURL != a.srv.URL+"/hooks/gh" || len(tj.Rules) != 1 {
		t.Fatalf("trigger = %+v", tj)
	}
	var yaml string
	a.do("GET", "/api/v1/triggers/gh?format=yaml", "", http.StatusOK, &yaml)
	if strings.Contains(yaml, secret) || !strings.Contains(yaml, "[redacted]") {
		t.Errorf("the secret shows in the source:\n%s", yaml)
	}

	body := []byte(`{"ref": "refs/heads/main", "pusher": {"name": "octo"}, "token": "should-not-be-stored"}`)
	req, _ := http.NewRequest("POST", a.srv.URL+"/hooks/gh", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "abc-1")
	req.Header.Set("X-Hub-Signature-256", trigger.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed hook: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()

	var evs struct{ Events []eventJSON }
	a.do("GET", "/api/v1/events?trigger=gh", "", http.StatusOK, &evs)
	if len(evs.Events) != 1 || len(evs.Events[0].Runs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	var ev eventJSON
	a.do("GET", fmt.Sprintf("/api/v1/events/%d", evs.Events[0].ID), "", http.StatusOK, &ev)
	if p := ev.Payload.(map[string]any); p["token"] != "[redacted]" {
		t.Errorf("payload token stored as %v", p["token"])
	}
	var run runJSON
	a.do("GET", fmt.Sprintf("/api/v1/runs/%d", ev.Runs[0]), "", http.StatusOK, &run)
	if run.Params["who"] != "octo" || run.Trigger != "trigger gh (greet on push)" {
		t.Errorf("run = %+v", run)
	}

	// Pages.
	_, page := a.page(c, "GET", "/triggers", nil)
	if rows := byTestID(t, page, "trigger-row"); len(rows) != 1 || !strings.Contains(textOf(rows[0]), "/hooks/gh") {
		t.Errorf("triggers page rows: %d", len(rows))
	}
	_, page = a.page(c, "GET", "/triggers/gh", nil)
	if strings.Contains(page, secret) {
		t.Errorf("the trigger page shows the secret")
	}
	if len(byTestID(t, page, "event-row")) != 1 {
		t.Errorf("trigger page lacks its event")
	}
	_, page = a.page(c, "GET", fmt.Sprintf("/events/%d", ev.ID), nil)
	if p := byTestID(t, page, "payload"); len(p) != 1 || strings.Contains(textOf(p[0]), "should-not-be-stored") {
		t.Errorf("event page payload")
	}
	resp2, _ := a.page(c, "POST", fmt.Sprintf("/events/%d/replay", ev.ID), url.Values{})
	if resp2.StatusCode != http.StatusSeeOther {
		t.Fatalf("replay: %d", resp2.StatusCode)
	}
	a.do("GET", "/api/v1/events?trigger=gh", "", http.StatusOK, &evs)
	if len(evs.Events) != 2 || evs.Events[0].ReplayOf != ev.ID || len(evs.Events[0].Runs) != 1 {
		t.Errorf("after replay: %+v", evs.Events)
	}
	a.do("DELETE", "/api/v1/triggers/gh", "", http.StatusNoContent, nil)
	if resp, _ := http.Post(a.srv.URL+"/hooks/gh", "application/json", bytes.NewReader(body)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("hook of a deleted trigger: %d", resp.StatusCode)
	}
}
