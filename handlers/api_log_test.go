package handlers

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLogPagesOfAnEndedRun reads a log longer than a page: a follower
// stops only at its last line, not when the run has ended, and the text
// answer holds every line.
func TestLogPagesOfAnEndedRun(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/long", "name: long\ntasks:\n  - id: count\n    run: seq 2500\n", http.StatusCreated, nil)
	var run runJSON
	a.do("POST", "/api/v1/compositions/long/runs", ``, http.StatusCreated, &run)
	path := fmt.Sprintf("/api/v1/runs/%d", run.ID)
	if run = a.waitRun(run.ID, func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" }); run.Status != "succeeded" {
		t.Fatalf("run = %+v", run)
	}

	type page struct {
		Lines []logLineJSON
		Next  int64
		More  bool
		Done  bool
	}
	// Follow as docs/api.md shows: after=next until done.
	var seqs []int64
	var counted int
	after, pages := int64(0), 0
	for {
		var p page
		a.do("GET", fmt.Sprintf("%s/log?after=%d&wait=1s", path, after), "", http.StatusOK, &p)
		pages++
		if pages == 1 && (p.Done || !p.More || len(p.Lines) != 1000) {
			t.Fatalf("first page of an ended run: %d lines, more=%v done=%v; want 1000, more, not done", len(p.Lines), p.More, p.Done)
		}
		for _, l := range p.Lines {
			seqs = append(seqs, l.Seq)
			if l.Task == "count" {
				counted++
			}
		}
		after = p.Next
		if p.Done {
			if p.More {
				t.Errorf("a page both done and with more lines")
			}
			break
		}
		if pages > 10 {
			t.Fatalf("still not done after %d pages (%d lines)", pages, len(seqs))
		}
	}
	if counted != 2500 {
		t.Errorf("the follower read %d of the task's 2500 lines", counted)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("line %d has seq %d: lines missing or repeated", i+1, s)
		}
	}

	// A page that ends exactly at the last line has no more.
	var last page
	a.do("GET", fmt.Sprintf("%s/log?after=%d&limit=%d", path, len(seqs)-5, 5), "", http.StatusOK, &last)
	if len(last.Lines) != 5 || last.More || !last.Done {
		t.Errorf("the last 5 lines: %d lines, more=%v done=%v", len(last.Lines), last.More, last.Done)
	}
	// Reading backwards: more means earlier lines.
	var tail page
	a.do("GET", path+"/log?before=999999&limit=10", "", http.StatusOK, &tail)
	if len(tail.Lines) != 10 || !tail.More || tail.Done || tail.Lines[9].Seq != int64(len(seqs)) {
		t.Errorf("tail: %d lines, more=%v, last %+v", len(tail.Lines), tail.More, tail.Lines[len(tail.Lines)-1])
	}

	// Text without a limit is the whole log; with one, headers say what is left.
	var text string
	a.do("GET", path+"/log?format=text", "", http.StatusOK, &text)
	if n := strings.Count(text, "\n"); n != len(seqs) {
		t.Errorf("the text log has %d lines, want all %d", n, len(seqs))
	}
	if !strings.Contains(text, "count | 2500\n") {
		t.Errorf("the text log lacks the last line the task wrote")
	}
	req, _ := http.NewRequest("GET", a.srv.URL+path+"/log?format=text&limit=10", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Count(string(b), "\n") != 10 || resp.Header.Get("X-Baton-More") != "true" || resp.Header.Get("X-Baton-Next") != "10" {
		t.Errorf("text page of 10: %d lines, X-Baton-More %q, X-Baton-Next %q",
			strings.Count(string(b), "\n"), resp.Header.Get("X-Baton-More"), resp.Header.Get("X-Baton-Next"))
	}

	var e apiError
	a.do("GET", path+"/log?after=2&before=4", "", http.StatusBadRequest, &e)
	a.do("GET", path+"/log?format=xml", "", http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, "json") || !strings.Contains(e.Error, "text") {
		t.Errorf("format error = %q; it should name the formats there are", e.Error)
	}
}
