package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"baton/auth"
	"baton/engine"
	"baton/plugin"
	"baton/storage"
)

type apiHarness struct {
	t     testing.TB
	srv   *httptest.Server
	eng   *engine.Engine
	h     *Handler
	store *storage.Store
	token string // API token of the user tester
}

func newAPI(t testing.TB) *apiHarness {
	return newAPIWith(t, plugin.NewRegistry(), engine.HubConfig{}, 2)
}

// newAPIWith starts a server over a fresh store with the given task types,
// agent timings and local slots.
func newAPIWith(t testing.TB, reg *plugin.Registry, hub engine.HubConfig, localSlots int) *apiHarness {
	t.Helper()
	return newAPIOver(t, reg, hub, localSlots, nil, nil)
}

// newAPIOver is newAPIWith with the engine writing through what wrap makes
// of the store (a store that acts at a chosen moment), and logging to log
// as well as to the test's log, when they are not nil.
func newAPIOver(t testing.TB, reg *plugin.Registry, hub engine.HubConfig, localSlots int, wrap func(*storage.Store) engine.Store, log slog.Handler) *apiHarness {
	t.Helper()
	store := storage.NewTestStore(t)
	t.Cleanup(func() { reg.Close() })
	var es engine.Store = store
	if wrap != nil {
		es = wrap(store)
	}
	logger := testLogger(t)
	if log != nil {
		logger = slog.New(teeHandler{logger.Handler(), log})
	}
	eng := engine.New(engine.Config{Store: es, Catalog: reg, Local: engine.NewLocal(reg, filepath.Join(t.TempDir(), "ws"), localSlots), Hub: hub, Logger: logger})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHandler(Config{Engine: eng, Store: store, Logger: testLogger(t), Version: "test"})
	srv := httptest.NewServer(New(Config{Engine: eng, Store: store, Logger: testLogger(t), Version: "test"}))
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(context.Background(), "tester", hash)
	if err != nil {
		t.Fatal(err)
	}
	token, tokenHash, prefix := auth.NewToken()
	if _, err := store.CreateAPIToken(context.Background(), u.ID, "test", tokenHash, prefix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Shutdown(ctx)
	})
	return &apiHarness{t: t, srv: srv, eng: eng, h: h, store: store, token: token}
}

// testPassword is the password of the user tester.
const testPassword = "tester-password"

// do sends a request and decodes a JSON answer into out (when not nil).
func (a *apiHarness) do(method, path, body string, wantStatus int, out any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(b)
			return
		}
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// waitRun polls a run until cond holds, failing the test after a minute.
func (a *apiHarness) waitRun(id int64, cond func(runJSON) bool) runJSON {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var r runJSON
		a.do("GET", fmt.Sprintf("/api/v1/runs/%d", id), "", http.StatusOK, &r)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("run %d stuck: %+v", id, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const helloYAML = `name: hello
params:
  who: {type: string, default: world}
tasks:
  - id: greet
    run: echo "hello ${{ params.who }}"; echo "said=hello" >> "$BATON_OUTPUT"
  - id: approve
    type: approval
    with: {message: "Ship it?"}
`

func TestCompositionCRUD(t *testing.T) {
	a := newAPI(t)
	var c compositionJSON
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, &c)
	if c.Name != "hello" || c.Version != 1 || len(c.Tasks) != 2 {
		t.Fatalf("created %+v", c)
	}
	a.do("PUT", "/api/v1/compositions/hello?message=again", helloYAML, http.StatusOK, &c)
	if c.Version != 1 {
		t.Errorf("unchanged source made version %d", c.Version)
	}
	a.do("PUT", "/api/v1/compositions/hello?message=more", helloYAML+"description: more\n", http.StatusOK, &c)
	if c.Version != 2 || c.Message != "more" {
		t.Errorf("update: %+v", c)
	}
	var src string
	a.do("GET", "/api/v1/compositions/hello?format=yaml", "", http.StatusOK, &src)
	if !strings.HasSuffix(src, "description: more\n") {
		t.Errorf("yaml source = %q", src)
	}
	var list struct{ Compositions []compositionJSON }
	a.do("GET", "/api/v1/compositions", "", http.StatusOK, &list)
	if len(list.Compositions) != 1 {
		t.Errorf("list = %+v", list)
	}
	var versions struct{ Versions []compositionJSON }
	a.do("GET", "/api/v1/compositions/hello/versions", "", http.StatusOK, &versions)
	if len(versions.Versions) != 2 || versions.Versions[0].Version != 2 {
		t.Errorf("versions = %+v", versions)
	}
	a.do("DELETE", "/api/v1/compositions/hello", "", http.StatusNoContent, nil)
	a.do("GET", "/api/v1/compositions/hello", "", http.StatusNotFound, nil)
}

func TestCompositionPutRejectsInvalid(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	var e apiError
	bad := "name: hello\ntasks:\n  - id: a\n    type: shel\n  - id: a\n    run: x\n    timout: 5s\n"
	a.do("PUT", "/api/v1/compositions/hello", bad, http.StatusUnprocessableEntity, &e)
	if len(e.Details) < 3 {
		t.Fatalf("want every problem, got %+v", e)
	}
	for _, d := range e.Details {
		if d.Line == 0 || d.Message == "" {
			t.Errorf("problem without a position: %+v", d)
		}
	}
	var src string
	a.do("GET", "/api/v1/compositions/hello?format=yaml", "", http.StatusOK, &src)
	if src != helloYAML {
		t.Errorf("a rejected PUT changed the stored composition")
	}
	a.do("PUT", "/api/v1/compositions/other", helloYAML, http.StatusUnprocessableEntity, &e)
	if !strings.Contains(e.Details[0].Message, "does not match") {
		t.Errorf("name mismatch: %+v", e)
	}
	a.do("PUT", "/api/v1/compositions/big", strings.Repeat("#", maxCompositionBytes+1), http.StatusRequestEntityTooLarge, &e)
}

func TestRunLifecycleOverAPI(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	var e apiError
	a.do("POST", "/api/v1/compositions/hello/runs", `{"params": {"who": 3, "extra": true}}`, http.StatusUnprocessableEntity, &e)
	if len(e.Details) != 1 || e.Details[0].Field != "extra" {
		t.Errorf("params error = %+v", e)
	}
	a.do("POST", "/api/v1/compositions/nope/runs", ``, http.StatusNotFound, &e)
	a.do("POST", "/api/v1/compositions/hello/runs", `{"parms": {}}`, http.StatusBadRequest, &e)

	var run runJSON
	a.do("POST", "/api/v1/compositions/hello/runs", `{"params": {"who": "api"}}`, http.StatusCreated, &run)
	path := fmt.Sprintf("/api/v1/runs/%d", run.ID)
	run = a.waitRun(run.ID, func(r runJSON) bool { return r.Status == "waiting" })
	var page struct {
		Lines []logLineJSON
		Next  int64
		Done  bool
	}
	a.do("GET", path+"/log?task=greet", "", http.StatusOK, &page)
	if len(page.Lines) != 1 || page.Lines[0].Text != "hello api" || page.Lines[0].Stream != "stdout" {
		t.Fatalf("log = %+v", page)
	}
	a.do("POST", path+"/tasks/greet/approve", `{}`, http.StatusConflict, &e)
	a.do("POST", path+"/tasks/nope/approve", `{}`, http.StatusNotFound, &e)

	// A follower waiting for new lines wakes when the approval lands.
	got := make(chan int, 1)
	go func() {
		var p struct{ Lines []logLineJSON }
		a.do("GET", fmt.Sprintf("%s/log?after=%d&wait=20s", path, page.Next), "", http.StatusOK, &p)
		got <- len(p.Lines)
	}()
	time.Sleep(100 * time.Millisecond)
	a.do("POST", path+"/tasks/approve/approve", `{"comment": "go"}`, http.StatusOK, &run)
	select {
	case n := <-got:
		if n == 0 {
			t.Errorf("long poll returned no lines")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not wake")
	}
	for !strings.Contains("succeeded failed", run.Status) || run.Status == "" {
		time.Sleep(10 * time.Millisecond)
		a.do("GET", path, "", http.StatusOK, &run)
	}
	if run.Status != "succeeded" || run.Outputs["said"] != "hello" || run.Tasks[1].Approval.Comment != "go" || run.Tasks[1].Approval.By != "tester" {
		t.Fatalf("final run = %+v", run)
	}
	a.do("POST", path+"/cancel", ``, http.StatusConflict, &e)
	// On an ended run, a task that is not there is still not found.
	a.do("POST", path+"/tasks/nope/approve", `{}`, http.StatusNotFound, &e)
	a.do("POST", path+"/tasks/approve/approve", `{}`, http.StatusConflict, &e)
	var text string
	a.do("GET", path+"/log?format=text", "", http.StatusOK, &text)
	if !strings.Contains(text, "greet | hello api") {
		t.Errorf("text log = %q", text)
	}
	var runs struct{ Runs []runJSON }
	a.do("GET", "/api/v1/runs?composition=hello&status=succeeded", "", http.StatusOK, &runs)
	if len(runs.Runs) != 1 {
		t.Errorf("runs = %+v", runs)
	}
	a.do("GET", "/api/v1/runs?status=bogus", "", http.StatusBadRequest, &e)
	a.do("GET", "/api/v1/runs/abc", "", http.StatusBadRequest, &e)
	a.do("GET", "/api/v1/runs/999", "", http.StatusNotFound, &e)
}

// TestOpenAPIMatchesRoutes checks the OpenAPI document against the route
// table in both directions.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	for _, rt := range (&Handler{}).routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/hooks/") {
			routed[method+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range routed {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !routed[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("routes not in openapi.json: %v\nopenapi.json paths with no route: %v", missing, extra)
	}
}

// TestCancelSparesAlwaysTasks cancels a run whose clean-up task is marked
// always: the API and the run page say how it will end while the clean-up
// runs, a repeated cancel leaves it be, and a forced one stops it.
func TestCancelSparesAlwaysTasks(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/tidy", `name: tidy
tasks:
  - id: work
    run: sleep 60
  - id: cleanup
    always: true
    run: sleep 60
`, http.StatusCreated, nil)
	var run runJSON
	a.do("POST", "/api/v1/compositions/tidy/runs", ``, http.StatusCreated, &run)
	path := fmt.Sprintf("/api/v1/runs/%d", run.ID)
	waitTask := func(id, status string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			run = runJSON{}
			a.do("GET", path, "", http.StatusOK, &run)
			for _, tk := range run.Tasks {
				if tk.ID == id && tk.Status == status {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s never %s: %+v", id, status, run)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitTask("work", "running")
	a.do("POST", path+"/cancel", ``, http.StatusAccepted, nil)
	waitTask("cleanup", "running")
	if run.Status != "running" || run.Ending != "cancelled" || run.Error != "cancelled by tester" {
		t.Fatalf("while cleaning up: %+v", run)
	}
	c := a.browserClient()
	a.login(c)
	_, doc := a.page(c, "GET", fmt.Sprintf("/runs/%d", run.ID), nil)
	if n := byTestID(t, doc, "run-ending"); len(n) != 1 || !strings.Contains(textOf(n[0]), "will end cancelled") {
		t.Errorf("run page does not say how the run will end")
	}
	if n := byTestID(t, doc, "cancel"); len(n) != 1 || textOf(n[0]) != "Cancel again" {
		t.Errorf("cancel button does not offer to cancel again")
	}
	if !strings.Contains(doc, `<input type="hidden" name="force" value="true">`) {
		t.Errorf("Cancel again does not send force")
	}
	// A repeated cancel (a client retrying) leaves the clean-up alone;
	// force stops it. The run page's Cancel again sends force.
	a.do("POST", path+"/cancel", ``, http.StatusAccepted, nil)
	var e apiError
	a.do("POST", path+"/cancel?force=maybe", ``, http.StatusBadRequest, &e)
	time.Sleep(200 * time.Millisecond)
	waitTask("cleanup", "running")
	if run.Ending != "cancelled" {
		t.Fatalf("after a repeated cancel: %+v", run)
	}
	if resp, _ := a.page(c, "POST", fmt.Sprintf("/runs/%d/cancel", run.ID), url.Values{"force": {"true"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Cancel again on the run page: status %d", resp.StatusCode)
	}
	waitTask("cleanup", "cancelled")
	deadline := time.Now().Add(10 * time.Second)
	for run.Status != "cancelled" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		run = runJSON{} // fields left out of the answer must not linger
		a.do("GET", path, "", http.StatusOK, &run)
	}
	if run.Status != "cancelled" || run.Ending != "" {
		t.Fatalf("after the second cancel: %+v", run)
	}
}

// TestAPIRequestDetails: the bearer scheme in any case, one JSON object
// per body, and formats the endpoint has.
func TestAPIRequestDetails(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/compositions", nil)
		req.Header.Set("Authorization", scheme+" "+a.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Authorization: %s TOKEN: status %d", scheme, resp.StatusCode)
		}
	}
	var e apiError
	a.do("POST", "/api/v1/compositions/hello/runs", `{"params": {}} {"params": {"who": "twice"}}`, http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, "one object") {
		t.Errorf("trailing data: %q", e.Error)
	}
	var runs struct{ Runs []runJSON }
	a.do("GET", "/api/v1/runs", "", http.StatusOK, &runs)
	if len(runs.Runs) != 0 {
		t.Errorf("a body with trailing data started a run: %+v", runs.Runs)
	}
	for body, want := range map[string]string{
		`{"params": [1]}`:            "field params: a JSON array where an object is expected",
		`{"params": {"who": "x"`:     "the JSON ends too early",
		`{"params": {}, "parms": 1}`: `unknown field "parms"`,
		`{"params": {} x`:            "not valid JSON at byte",
	} {
		a.do("POST", "/api/v1/compositions/hello/runs", body, http.StatusBadRequest, &e)
		if !strings.Contains(e.Error, want) || strings.Contains(e.Error, "Go ") || strings.Contains(e.Error, "interface") {
			t.Errorf("body %s: error %q, want it to say %q in JSON's terms", body, e.Error, want)
		}
	}
	a.do("GET", "/api/v1/runs?status=bogus", "", http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, "queued, running, waiting") {
		t.Errorf("bad status: %q", e.Error)
	}
	a.do("GET", "/api/v1/compositions/hello?format=xml", "", http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, "yaml") {
		t.Errorf("unknown format: %q", e.Error)
	}
	var src string
	a.do("GET", "/api/v1/compositions/hello?format=yaml", "", http.StatusOK, &src)
	if src != helloYAML {
		t.Errorf("format=yaml = %q", src)
	}
}
