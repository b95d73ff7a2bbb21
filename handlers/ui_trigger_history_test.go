package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"baton/trigger"
)

// TestTriggerHistoryAndRestore: the history lists every version with its
// author and shows what changed, a version's page shows its source, and a
// restore makes a new version, unless the page was shown before another
// save; the API does the same, and a PUT from an old base is a 409 that
// says what is current. No page or answer shows the literal secret.
func TestTriggerHistoryAndRestore(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	const secret = "history-secret-777"
	v := func(desc string) string {
		return "name: gh\nkind: github\ndescription: " + desc + "\nsecret: " + secret + "\nrules:\n  - run: {composition: greet}\n"
	}
	a.putTrigger("gh", v("one"))
	a.do("PUT", "/api/v1/triggers/gh?base=1&message=second", v("two"), http.StatusOK, nil)
	var stale staleJSON
	a.do("PUT", "/api/v1/triggers/gh?base=1", v("late"), http.StatusConflict, &stale)
	if stale.Current != 2 || stale.Author != "tester" || !strings.Contains(stale.Error, "changed while you edited it") {
		t.Errorf("stale PUT: %+v", stale)
	}

	_, page := a.page(c, "GET", "/triggers/gh/history", nil)
	rows := byTestID(t, page, "version-row")
	if len(rows) != 2 || !strings.Contains(textOf(rows[0]), "second") || !strings.Contains(textOf(rows[0]), "current") ||
		len(byTestID(t, page, "diff-del")) != 1 || len(byTestID(t, page, "diff-add")) != 1 || strings.Contains(page, secret) {
		t.Fatalf("history page: %d rows\n%s", len(rows), page)
	}
	_, page = a.page(c, "GET", "/triggers/gh/versions/1", nil)
	if src := byTestID(t, page, "source"); len(src) != 1 || !strings.Contains(textOf(src[0]), "description: one") || strings.Contains(page, secret) {
		t.Fatalf("version page:\n%s", page)
	}

	// Restore from a page shown before version 3 was saved: refused.
	a.do("PUT", "/api/v1/triggers/gh?message=third", v("three"), http.StatusOK, nil)
	resp, _ := a.page(c, "POST", "/triggers/gh/versions/1/restore", url.Values{"base": {"2"}})
	if resp.StatusCode != http.StatusSeeOther || a.triggerInfo("gh").Version != 3 {
		t.Fatalf("a stale restore: %d, version %d", resp.StatusCode, a.triggerInfo("gh").Version)
	}
	if _, flash := a.page(c, "GET", resp.Header.Get("Location"), nil); !strings.Contains(flash, "Nothing was restored") {
		t.Errorf("a stale restore says nothing")
	}
	resp, _ = a.page(c, "POST", "/triggers/gh/versions/1/restore", url.Values{"base": {"3"}})
	if tj := a.triggerInfo("gh"); resp.StatusCode != http.StatusSeeOther || tj.Version != 4 || tj.Description != "one" {
		t.Fatalf("restore: %d %+v", resp.StatusCode, tj)
	}

	// The API: versions, one version, restore.
	var vs struct{ Versions []triggerVersionJSON }
	a.do("GET", "/api/v1/triggers/gh/versions", "", http.StatusOK, &vs)
	if len(vs.Versions) != 4 || vs.Versions[0].Message != "Restore version 1" || !vs.Versions[0].Current || vs.Versions[1].Message != "third" {
		t.Fatalf("versions: %+v", vs)
	}
	var one triggerVersionJSON
	a.do("GET", "/api/v1/triggers/gh/versions/2", "", http.StatusOK, &one)
	if !strings.Contains(one.Source, "description: two") || strings.Contains(one.Source, secret) || one.Invalid != "" {
		t.Errorf("version 2: %+v", one)
	}
	var yaml string
	a.do("GET", "/api/v1/triggers/gh/versions/2?format=yaml", "", http.StatusOK, &yaml)
	if yaml != one.Source {
		t.Errorf("version 2 as YAML:\n%s", yaml)
	}
	var e apiError
	a.do("POST", "/api/v1/triggers/gh/versions/2/restore", "", http.StatusBadRequest, &e)
	a.do("POST", "/api/v1/triggers/gh/versions/9/restore?base=4", "", http.StatusNotFound, &e)
	a.do("POST", "/api/v1/triggers/gh/versions/2/restore?base=3", "", http.StatusConflict, &stale)
	var restored triggerVersionJSON
	a.do("POST", "/api/v1/triggers/gh/versions/2/restore?base=4", "", http.StatusOK, &restored)
	if restored.Version != 5 || restored.Author != "tester" {
		t.Errorf("restored over the API: %+v", restored)
	}
	a.do("GET", "/api/v1/triggers/gh/versions/x", "", http.StatusBadRequest, &e)
}

// TestTriggerYAMLRoundTrip: what GET ?format=yaml answers for a trigger
// with a literal secret can be PUT back as it is: the secret is kept, not
// replaced by the placeholder, and signed deliveries still pass.
func TestTriggerYAMLRoundTrip(t *testing.T) {
	a := newAPI(t)
	const secret = "round-trip-secret-31"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nrules:\n  - run: {composition: greet}\n")
	var yaml string
	a.do("GET", "/api/v1/triggers/gh?format=yaml", "", http.StatusOK, &yaml)
	if strings.Contains(yaml, secret) {
		t.Fatalf("the secret shows:\n%s", yaml)
	}
	a.do("PUT", "/api/v1/triggers/gh", strings.Replace(yaml, "kind: github", "kind: github\ndescription: again", 1), http.StatusOK, nil)
	body := []byte(`{"zen": "Keep it logically awesome."}`)
	req := githubHook(a.srv.URL+"/hooks/gh", "d-rt", trigger.Sign(secret, body), body)
	if got := send(t, http.DefaultClient, req); got.status != http.StatusAccepted {
		t.Fatalf("a delivery signed with the secret after the round trip: %d %s", got.status, got.body)
	}
}

// TestTriggerDeleteFromPage: Delete on a trigger's page stops it and keeps
// its history, from which it comes back; a composition's schedule is
// refused with where to change it.
func TestTriggerDeleteFromPage(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	a.putTrigger("nightly", "name: nightly\nkind: schedule\nschedule: '0 3 * * *'\nrun: {composition: greet}\n")
	_, page := a.page(c, "GET", "/triggers/nightly", nil)
	if len(byTestID(t, page, "delete-trigger")) != 1 || len(byTestID(t, page, "edit-trigger")) != 1 {
		t.Fatal("the trigger page lacks Delete or Edit")
	}
	resp, _ := a.htmx(c, "/triggers/nightly/delete", url.Values{})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("HX-Redirect") != "/triggers" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	var e apiError
	a.do("GET", "/api/v1/triggers/nightly", "", http.StatusNotFound, &e)
	_, page = a.page(c, "GET", "/triggers/nightly/history", nil)
	if len(byTestID(t, page, "version-row")) != 1 || len(byTestID(t, page, "trigger-deleted")) != 1 {
		t.Fatalf("the history of a deleted trigger:\n%s", page)
	}
	if resp, _ := a.page(c, "POST", "/triggers/nightly/versions/1/restore", url.Values{"base": {"0"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore a deleted trigger: %d", resp.StatusCode)
	}
	if tj := a.triggerInfo("nightly"); tj.Version != 2 {
		t.Errorf("after bringing it back: %+v", tj)
	}

	a.do("PUT", "/api/v1/compositions/pulse", "name: pulse\nschedules:\n  - cron: '@daily'\ntasks:\n  - id: a\n    run: 'true'\n", http.StatusCreated, nil)
	_, page = a.page(c, "GET", "/triggers/pulse:schedule-1", nil)
	if len(byTestID(t, page, "delete-trigger")) != 0 || len(byTestID(t, page, "owner")) != 1 {
		t.Errorf("a composition's schedule offers Delete, or does not say where it is declared")
	}
	for _, htmx := range []bool{false, true} {
		var resp *http.Response
		if htmx {
			resp, _ = a.htmx(c, "/triggers/pulse:schedule-1/delete", url.Values{})
		} else {
			resp, page = a.page(c, "POST", "/triggers/pulse:schedule-1/delete", url.Values{})
		}
		if !htmx && (resp.StatusCode != http.StatusConflict || !strings.Contains(page, "schedule of composition pulse")) {
			t.Errorf("deleting a composition's schedule: %d", resp.StatusCode)
		}
		if htmx && resp.Header.Get("HX-Redirect") != "/triggers/pulse:schedule-1" {
			t.Errorf("deleting a composition's schedule with htmx: %d %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
	}
	if _, flash := a.page(c, "GET", "/triggers/pulse:schedule-1", nil); !strings.Contains(flash, "Not deleted: trigger pulse:schedule-1 is a schedule of composition pulse") {
		t.Errorf("the refusal is not shown on the trigger's page")
	}
	if _, ok := a.eng.Trigger("pulse:schedule-1"); !ok {
		t.Error("the composition's schedule was deleted")
	}
}
