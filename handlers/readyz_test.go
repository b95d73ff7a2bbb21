package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadyzFollowsTheDatabase: /readyz says not ready, without a login,
// while the database refuses a run's log (it cannot grow, as on a full
// disk), and ready again once it takes writes; the answer names the full
// disk but no file.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	a := newAPI(t)
	ready := func() (int, []string) {
		resp, err := http.Get(a.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Status string
			Failed []string
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Failed
	}
	if code, failed := ready(); code != 200 {
		t.Fatalf("/readyz of a healthy server: %d %v", code, failed)
	}
	a.do("PUT", "/api/v1/compositions/noisy", "name: noisy\ntasks:\n  - id: print\n    run: seq 1 100000\n", http.StatusCreated, nil)
	ctx := context.Background()
	pages, err := a.store.PageCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.SetMaxPageCount(ctx, pages); err != nil {
		t.Fatal(err)
	}
	a.do("POST", "/api/v1/compositions/noisy/runs", `{}`, http.StatusCreated, nil)
	deadline := time.Now().Add(20 * time.Second)
	var failed []string
	for code := 200; code == 200; code, failed = ready() {
		if time.Now().After(deadline) {
			t.Fatal("/readyz stayed ready while the database refused the log")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(failed) == 0 || !strings.Contains(strings.Join(failed, " "), "disk that holds the database is full") || strings.Contains(strings.Join(failed, " "), ".db") {
		t.Fatalf("failed = %q", failed)
	}
	if err := a.store.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	for code := 503; code != 200; code, failed = ready() {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("/readyz not ready after the database took writes again: %v", failed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
