package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"baton/engine"
	"baton/model"
)

// TestSendTestEvent: a test event is judged by the trigger's rules like a
// real one, starts the runs they start and is recorded with who sent it;
// it needs no signature, takes nothing from the trigger's rate and counts
// as no accepted event. Each kind gets the test it can take.
func TestSendTestEvent(t *testing.T) {
	h := newHarness(t, `
name: greet
params:
  who: {type: string, default: nobody}
tasks:
  - id: hi
    run: echo "hello ${{ params.who }}"
`, `
name: note
params:
  about: {type: string}
tasks:
  - id: n
    run: echo "${{ params.about }}"
`, `
name: slow
tasks:
  - id: nap
    run: sleep 30
`)
	ctx := context.Background()
	save := func(src string) {
		t.Helper()
		name := strings.TrimPrefix(strings.SplitN(src, "\n", 2)[0], "name: ")
		if _, _, err := h.eng.SaveTrigger(ctx, name, []byte(src), "alice", ""); err != nil {
			t.Fatalf("save %s: %v", name, err)
		}
	}
	save("name: gh\nkind: github\nsecret: s-0123456789\nrate: {events: 1, per: 1h, burst: 1}\nrules:\n" +
		"  - name: on push\n    when: 'event == \"push\" && headers[\"x-github-event\"] == \"push\"'\n    run: {composition: greet, params: {who: \"${{ payload.pusher.name }}\"}}\n" +
		"  - name: on release\n    when: 'event == \"release\"'\n    run: {composition: greet}\n")
	save("name: now\nkind: schedule\nschedule: '0 3 1 1 *'\nrun: {composition: slow}\n")
	save("name: after\nkind: runs\nrules:\n  - when: 'payload.composition == \"greet\"'\n    run: {composition: note, params: {about: \"run ${{ payload.id }}\"}}\n")

	ev, err := h.eng.SendTestEvent(ctx, "gh", engine.TestEvent{By: "alice", Event: "push", Payload: map[string]any{"pusher": map[string]any{"name": "octo"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.TestBy != "alice" || ev.DeliveryID != "" || len(ev.Results) != 2 || !ev.Results[0].Matched || ev.Results[1].Matched || ev.Results[0].RunID == 0 {
		t.Fatalf("test push: %+v", ev)
	}
	run := h.waitDone(ev.Results[0].RunID)
	if run.Status != model.RunSucceeded || run.Params["who"] != "octo" || run.Trigger != "trigger gh (on push), a test event sent by alice" {
		t.Errorf("the run it started: %+v", run)
	}
	if stored, err := h.store.GetEvent(ctx, ev.ID); err != nil || stored.TestBy != "alice" {
		t.Errorf("stored event: %+v %v", stored, err)
	}
	// The same test again is a new event (no digest, no delivery id), and
	// the trigger's rate of 1 an hour is still whole afterwards.
	if _, err := h.eng.SendTestEvent(ctx, "gh", engine.TestEvent{By: "alice", Event: "push", Payload: map[string]any{"pusher": map[string]any{"name": "octo"}}}); err != nil {
		t.Fatalf("the same test twice: %v", err)
	}
	for _, info := range h.eng.Triggers() {
		if info.Name == "gh" && info.Accepted != 0 {
			t.Errorf("test events counted as %d accepted", info.Accepted)
		}
	}
	if !h.eng.AllowEvent("gh") {
		t.Error("test events used up the trigger's rate")
	}

	// Run now, then again while its run is active: skipped (overlap: false).
	first, err := h.eng.SendTestEvent(ctx, "now", engine.TestEvent{By: "bob"})
	if err != nil || len(first.Results) != 1 || first.Results[0].RunID == 0 || first.Name != "schedule" {
		t.Fatalf("run now: %+v %v", first, err)
	}
	h.waitRun(first.Results[0].RunID, func(r *model.Run) bool { return r.Status == model.RunRunning })
	second, err := h.eng.SendTestEvent(ctx, "now", engine.TestEvent{By: "bob"})
	if err != nil || second.Results[0].RunID != 0 || !strings.Contains(second.Results[0].Error, "still active (overlap: false)") || second.TestBy != "bob" {
		t.Fatalf("run now while the last is active: %+v %v", second, err)
	}
	if err := h.eng.Cancel(ctx, first.Results[0].RunID, "test", false); err != nil {
		t.Fatal(err)
	}

	// A runs trigger is tested against a finished run.
	ev, err = h.eng.SendTestEvent(ctx, "after", engine.TestEvent{By: "carol", RunID: run.ID})
	if err != nil || ev.Name != "run.finished" || ev.Results[0].RunID == 0 {
		t.Fatalf("test against run %d: %+v %v", run.ID, ev, err)
	}
	follow := h.waitDone(ev.Results[0].RunID)
	if follow.Params["about"] != fmt.Sprintf("run %d", run.ID) || follow.Trigger != fmt.Sprintf("trigger after (rule 1) on run %d, a test event sent by carol", run.ID) {
		t.Errorf("the run it started: %+v", follow)
	}

	refusals := []struct {
		name, trigger string
		req           engine.TestEvent
		as            any
	}{
		{"an unknown trigger", "nope", engine.TestEvent{By: "x"}, new(*engine.NotFoundError)},
		{"a bad event name", "gh", engine.TestEvent{By: "x", Event: "push it"}, new(*engine.InvalidError)},
		{"an unknown run", "after", engine.TestEvent{By: "x", RunID: 9999}, new(*engine.NotFoundError)},
		{"a run still going", "after", engine.TestEvent{By: "x", RunID: h.startRun("slow", nil).ID}, new(*engine.StateError)},
	}
	for _, c := range refusals {
		_, err := h.eng.SendTestEvent(ctx, c.trigger, c.req)
		if err == nil || !errors.As(err, c.as) {
			t.Errorf("%s: %v, want %T", c.name, err, c.as)
		}
	}
	for _, name := range []string{"gh", "after"} {
		for _, ev := range h.events(name) {
			if ev.TestBy == "x" {
				t.Errorf("a refused test event was recorded: %+v", ev)
			}
		}
	}
}
