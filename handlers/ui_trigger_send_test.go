package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"baton/trigger"
)

// TestTriggerTestEvents: the Try it card of a webhook trigger sends its
// sample payload through the rules as the logged-in user, without the
// secret: the event is marked as a test, the run it started is shown, and
// a rule that did not match says which condition was false. A test takes
// nothing from the trigger's rate and leaves no digest, so a real signed
// request with the same body still starts its run. Schedules run now,
// runs triggers are tested against a finished run, and the API does the
// same as the page.
func TestTriggerTestEvents(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/greet", greetYAML, http.StatusCreated, nil)
	c := a.browserClient()
	a.login(c)
	const secret = "test-event-secret-0001"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nrate: {events: 1, per: 1h, burst: 1}\nrules:\n"+
		"  - name: greet pushes to main\n    when: 'event == \"push\" && payload.ref == \"refs/heads/main\"'\n    run: {composition: greet, params: {who: \"${{ payload.pusher.name }}\"}}\n")

	_, page := a.page(c, "GET", "/triggers/gh", nil)
	payload := textarea(t, page, "test-payload")
	if len(byTestID(t, page, "send-test")) != 1 || !strings.Contains(payload, `"ref": "refs/heads/main"`) {
		t.Fatalf("the trigger page's test form: %q", payload)
	}
	_, frag := a.htmx(c, "/triggers/gh/test", url.Values{"event": {"push"}, "payload": {payload}})
	runs := byTestID(t, frag, "test-run-link")
	if len(runs) != 1 || !strings.Contains(textOf(byTestID(t, frag, "test-rule")[0]), "held") {
		t.Fatalf("the test's result:\n%s", frag)
	}
	var evs struct{ Events []eventJSON }
	a.do("GET", "/api/v1/events?trigger=gh", "", http.StatusOK, &evs)
	if len(evs.Events) != 1 || evs.Events[0].TestBy != "tester" || len(evs.Events[0].Runs) != 1 {
		t.Fatalf("the test event: %+v", evs.Events)
	}
	run := a.waitRun(evs.Events[0].Runs[0], func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if run.Status != "succeeded" || run.Params["who"] != "octocat" || run.Trigger != "trigger gh (greet pushes to main), a test event sent by tester" {
		t.Errorf("the run it started: %+v", run)
	}

	// No match: each rule says why. The event page marks it as a test.
	_, frag = a.htmx(c, "/triggers/gh/test", url.Values{"event": {"push"}, "payload": {`{"ref": "refs/heads/feature"}`}})
	if len(byTestID(t, frag, "test-nothing")) != 1 || !strings.Contains(textOf(byTestID(t, frag, "test-rule")[0]), `payload.ref == "refs/heads/main" was false`) {
		t.Fatalf("a test no rule matched:\n%s", frag)
	}
	a.do("GET", "/api/v1/events?trigger=gh", "", http.StatusOK, &evs)
	_, page = a.page(c, "GET", fmt.Sprintf("/events/%d", evs.Events[0].ID), nil)
	if len(byTestID(t, page, "test-mark")) != 1 {
		t.Errorf("the event page does not mark the test")
	}
	_, page = a.page(c, "GET", "/events", nil)
	if n := len(byTestID(t, page, "test-mark")); n != 2 {
		t.Errorf("the events page marks %d tests, want 2", n)
	}

	// Mistakes are shown under the form, and send nothing.
	mistakes := []struct{ name, event, payload, says string }{
		{"a payload that is not JSON", "push", `{"ref": `, "the payload is not JSON"},
		{"an event name with a space", "push it", `{}`, `event name "push it" is not valid`},
		{"a payload over max_body", "push", `{"big": "` + strings.Repeat("x", 1<<20) + `"}`, "larger than 1 MiB, the max_body of trigger gh"},
	}
	for _, m := range mistakes {
		resp, frag := a.htmx(c, "/triggers/gh/test", url.Values{"event": {m.event}, "payload": {m.payload}})
		if e := byTestID(t, frag, "test-error"); resp.StatusCode != http.StatusOK || len(e) != 1 || !strings.Contains(textOf(e[0]), m.says) {
			t.Errorf("%s: %d\n%s", m.name, resp.StatusCode, frag)
		}
	}
	a.do("GET", "/api/v1/events?trigger=gh", "", http.StatusOK, &evs)
	if len(evs.Events) != 2 {
		t.Errorf("%d events after mistakes, want the 2 tests", len(evs.Events))
	}

	// A real signed request of the same body: new (no digest), and the
	// rate of 1 an hour is still whole (tests took none of it).
	body := []byte(payload)
	if got := send(t, http.DefaultClient, githubHook(a.srv.URL+"/hooks/gh", "real-1", trigger.Sign(secret, body), body)); got.status != http.StatusAccepted {
		t.Fatalf("a real delivery after tests: %d %s", got.status, got.body)
	}
	if tj := a.triggerInfo("gh"); tj.Accepted != 1 {
		t.Errorf("accepted = %d, want 1 (the real delivery only)", tj.Accepted)
	}

	// Without htmx the form leads to the event's page.
	resp, _ := a.page(c, "POST", "/triggers/gh/test", url.Values{"event": {"push"}, "payload": {`{}`}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/events/") {
		t.Errorf("a plain form post: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Run now; a runs trigger against a finished run; the API.
	a.putTrigger("nightly", "name: nightly\nkind: schedule\nschedule: '0 3 1 1 *'\nrun: {composition: greet, params: {who: night}}\n")
	_, page = a.page(c, "GET", "/triggers/nightly", nil)
	if len(byTestID(t, page, "run-now")) != 1 {
		t.Fatal("a schedule's page lacks Run now")
	}
	_, frag = a.htmx(c, "/triggers/nightly/test", url.Values{})
	if len(byTestID(t, frag, "test-run-link")) != 1 {
		t.Fatalf("run now:\n%s", frag)
	}
	a.putTrigger("after", "name: after\nkind: runs\nrules:\n  - when: 'payload.composition == \"greet\" && payload.status == \"succeeded\"'\n    run: {composition: greet, params: {who: \"after ${{ payload.id }}\"}}\n")
	_, page = a.page(c, "GET", "/triggers/after", nil)
	if got := byTestID(t, page, "test-run"); len(got) != 1 || !hasAttr(got[0], "value") {
		t.Fatal("a runs trigger's page does not offer the last finished run")
	}
	var ev eventJSON
	a.do("POST", "/api/v1/triggers/after/test", fmt.Sprintf(`{"run": %d}`, run.ID), http.StatusCreated, &ev)
	if ev.TestBy != "tester" || ev.Event != "run.finished" || len(ev.Runs) != 1 {
		t.Errorf("a runs trigger tested over the API: %+v", ev)
	}
	var e apiError
	a.do("POST", "/api/v1/triggers/after/test", `{}`, http.StatusBadRequest, &e)
	a.do("POST", "/api/v1/triggers/after/test", `{"run": 99999}`, http.StatusNotFound, &e)
	a.do("POST", "/api/v1/triggers/gh/test", `{"event": "push", "payload": {"ref": "refs/heads/main", "pusher": {"name": "api"}}}`, http.StatusCreated, &ev)
	if ev.TestBy != "tester" || len(ev.Runs) != 1 {
		t.Errorf("a webhook tested over the API: %+v", ev)
	}
	a.do("POST", "/api/v1/triggers/gh/test", `{"evnt": "push"}`, http.StatusBadRequest, &e)
	a.do("POST", "/api/v1/triggers/nope/test", `{}`, http.StatusNotFound, &e)
}

// TestTriggerSecretNeverShown: a literal secret written in the secret:
// key, and again in a comment, a description and a rule, shows in no page
// and no answer; where the secret comes from is said instead.
func TestTriggerSecretNeverShown(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	a.do("PUT", "/api/v1/compositions/greet", greetYAML, http.StatusCreated, nil)
	const secret = "never-shown-secret-42"
	a.putTrigger("gh", "name: gh\nkind: github\n# the secret is "+secret+"\ndescription: Uses "+secret+".\nsecret: "+secret+
		"\nrules:\n  - when: 'payload.token != \""+secret+"\"'\n    run: {composition: greet, params: {who: \""+secret+"\"}}\n")
	a.do("PUT", "/api/v1/triggers/gh?message=again", "name: gh\nkind: github\nsecret: "+secret+"\nrules:\n  - run: {composition: greet}\n", http.StatusOK, nil)
	a.do("POST", "/api/v1/triggers/gh/versions/1/restore?base=2", "", http.StatusOK, nil)
	a.do("POST", "/api/v1/triggers/gh/test", `{"payload": {"echo": "`+secret+`"}}`, http.StatusCreated, nil)
	pages := []string{"/triggers", "/triggers/gh", "/triggers/gh/edit", "/triggers/gh/history", "/triggers/gh/history?a=1&b=2",
		"/triggers/gh/versions/1", "/triggers/gh/versions/2", "/events", "/events/1"}
	for _, p := range pages {
		resp, body := a.page(c, "GET", p, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, secret) {
			t.Errorf("page %s: %d, shows the secret: %v", p, resp.StatusCode, strings.Contains(body, secret))
		}
	}
	for _, p := range []string{"/api/v1/triggers", "/api/v1/triggers/gh", "/api/v1/triggers/gh?format=yaml", "/api/v1/triggers/gh/versions",
		"/api/v1/triggers/gh/versions/1", "/api/v1/triggers/gh/versions/2?format=yaml", "/api/v1/events/1"} {
		var body string
		a.do("GET", p, "", http.StatusOK, &body)
		if strings.Contains(body, secret) {
			t.Errorf("%s shows the secret:\n%s", p, body)
		}
	}
	_, page := a.page(c, "GET", "/triggers/gh/edit", nil)
	if notes := byTestID(t, page, "trigger-note"); len(notes) != 1 || !strings.Contains(textOf(notes[0]), "appears where the secret was hidden") {
		t.Errorf("the editor does not say the secret was hidden outside secret:")
	}
	if n := byTestID(t, page, "secret-note"); len(n) != 1 || !strings.Contains(textOf(n[0]), "written in the trigger") {
		t.Errorf("the editor does not say where the secret comes from")
	}

	t.Setenv("BATON_TEST_HOOK_SECRET", "env-secret-value-9")
	a.putTrigger("envgh", "name: envgh\nkind: github\nsecret_env: BATON_TEST_HOOK_SECRET\nrules:\n  - run: {composition: greet}\n")
	if tj := a.triggerInfo("envgh"); tj.SecretEnv != "BATON_TEST_HOOK_SECRET" || tj.SecretInFile {
		t.Errorf("secret_env in the API: %+v", tj)
	}
	_, page = a.page(c, "GET", "/triggers/envgh", nil)
	if !strings.Contains(page, "environment variable BATON_TEST_HOOK_SECRET") || strings.Contains(page, "env-secret-value-9") {
		t.Errorf("the trigger page does not name the variable, or shows its value")
	}
}
