package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/trigger"
)

func parseTrigger(t *testing.T, src string) *trigger.Trigger {
	t.Helper()
	tr, probs := trigger.Parse("t.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if len(probs) > 0 {
		t.Fatalf("trigger: %v", probs)
	}
	return tr
}

func (h *harness) runsOf(name string) []*model.Run {
	h.t.Helper()
	runs, err := h.store.ListRuns(context.Background(), storage.RunFilter{Composition: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

func (h *harness) events(trigger string) []*model.Event {
	h.t.Helper()
	evs, err := h.store.ListEvents(context.Background(), storage.EventFilter{Trigger: trigger})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScheduleFiresAndSkipsOverlap(t *testing.T) {
	h := newHarness(t, `
name: tick
tasks:
  - id: nap
    run: sleep 2.5
`)
	h.eng.SetTriggers([]*trigger.Trigger{parseTrigger(t, "name: ticker\nkind: schedule\nschedule: \"@every 1s\"\nrun: {composition: tick}\n")})
	waitFor(t, "a firing", func() bool { return len(h.runsOf("tick")) > 0 })
	waitFor(t, "a skipped firing", func() bool {
		for _, ev := range h.events("ticker") {
			if len(ev.Results) == 1 && strings.Contains(ev.Results[0].Error, "still active (overlap: false)") {
				return true
			}
		}
		return false
	})
	if n := len(h.runsOf("tick")); n != 1 {
		t.Errorf("%d runs while the first was still active, want 1", n)
	}
	for _, ev := range h.events("ticker") {
		if _, err := time.Parse(time.RFC3339, ev.DeliveryID); err != nil || ev.Name != "schedule" {
			t.Errorf("schedule event %+v: the delivery id should be the fire time", ev)
		}
	}
}

func TestScheduleCatchesUpOnce(t *testing.T) {
	h := newHarness(t, `
name: nightly
tasks:
  - id: clean
    run: "true"
`)
	// The server "was down": the schedule last fired 3 hours ago.
	last := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	ev := &model.Event{Trigger: "hourly", Kind: "schedule", Name: "schedule", DeliveryID: last.UTC().Format(time.RFC3339), ReceivedAt: last}
	if err := h.store.RecordEvent(context.Background(), ev, nil); err != nil {
		t.Fatal(err)
	}
	h.stop(time.Second)
	h.start()
	h.eng.SetTriggers([]*trigger.Trigger{parseTrigger(t, "name: hourly\nkind: schedule\nschedule: \"@hourly\"\ncatch_up: true\nrun: {composition: nightly}\n")})
	waitFor(t, "the catch-up run", func() bool { return len(h.runsOf("nightly")) > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := len(h.runsOf("nightly")); n != 1 {
		t.Fatalf("%d catch-up runs, want exactly 1 for 3 missed hours", n)
	}
	want := time.Now().Truncate(time.Hour).UTC().Format(time.RFC3339)
	if got := h.events("hourly")[0].DeliveryID; got != want {
		t.Errorf("caught up for %s, want the latest missed time %s", got, want)
	}
}

func TestRulesOnRunFinished(t *testing.T) {
	h := newHarness(t, `
name: build
params:
  version: {type: string, required: true}
tasks:
  - id: b
    run: echo "artifact=app-${{ params.version }}.tar" >> "$BATON_OUTPUT"
`, `
name: package
params:
  artifact: {type: string, required: true}
tasks:
  - id: p
    run: echo "packing ${{ params.artifact }}"
`, `
name: again
tasks:
  - id: a
    run: "true"
`)
	h.eng.SetTriggers([]*trigger.Trigger{
		parseTrigger(t, `name: pipeline
kind: runs
rules:
  - when: 'payload.composition == "build" && payload.status == "succeeded"'
    run: {composition: package, params: {artifact: "${{ payload.outputs.artifact }}"}}
  - name: loop
    when: 'payload.composition == "again"'
    run: {composition: again}
`)})
	build := h.waitDone(h.startRun("build", map[string]any{"version": "1.2"}).ID)
	if build.Status != model.RunSucceeded {
		t.Fatal(build.Error)
	}
	waitFor(t, "package", func() bool { return len(h.runsOf("package")) == 1 })
	pkg := h.waitDone(h.runsOf("package")[0].ID)
	if pkg.Params["artifact"] != "app-1.2.tar" || pkg.Trigger != fmt.Sprintf("trigger pipeline (rule 1) on run %d", build.ID) {
		t.Errorf("package run = %+v", pkg)
	}
	// A rule that starts its own composition stops after the chain limit.
	h.startRun("again", nil)
	waitFor(t, "the loop to stop", func() bool {
		for _, ev := range h.events("pipeline") {
			for _, r := range ev.Results {
				if strings.Contains(r.Error, "already chained") {
					return true
				}
			}
		}
		return false
	})
	if n := len(h.runsOf("again")); n != 11 {
		t.Errorf("%d runs of again, want 11 (the first and 10 chained)", n)
	}
}

// TestCompositionSchedules: a composition's own schedules start runs with
// their params, survive a restart, and stop when the composition drops
// them or is deleted.
func TestCompositionSchedules(t *testing.T) {
	h := newHarness(t, `
name: pulse
params:
  who: {type: string, required: true}
schedules:
  - cron: "@every 1s"
    params: {who: scheduler}
tasks:
  - id: say
    run: echo "$WHO"
    env: {WHO: "${{ params.who }}"}
`)
	name := engine.ScheduleName("pulse", 0)
	waitFor(t, "a scheduled run", func() bool { return len(h.runsOf("pulse")) > 0 })
	r := h.runsOf("pulse")[0]
	if r.Params["who"] != "scheduler" || !strings.Contains(r.Trigger, name) {
		t.Errorf("scheduled run: params %v, trigger %q; want who=scheduler, started by %s", r.Params, r.Trigger, name)
	}
	info, ok := h.eng.Trigger(name)
	if !ok || info.Owner != "pulse" || info.Cron.Spec != "@every 1s" {
		t.Fatalf("derived trigger = %+v, %v", info, ok)
	}

	// A restart brings the schedule back from the stored composition.
	h.stop(time.Second)
	h.start()
	if _, ok := h.eng.Trigger(name); !ok {
		t.Fatal("the schedule is not active after a restart")
	}

	// A version without schedules stops it.
	h.save("name: pulse\nparams:\n  who: {type: string, required: true}\ntasks:\n  - id: say\n    run: echo hi\n")
	if _, ok := h.eng.Trigger(name); ok {
		t.Error("the schedule is still active after the composition dropped it")
	}
	before := len(h.runsOf("pulse"))
	time.Sleep(2200 * time.Millisecond)
	if after := len(h.runsOf("pulse")); after > before+1 { // one may have been firing as it changed
		t.Errorf("%d runs started after the schedule was removed", after-before)
	}

	// Deleting a composition stops its schedules too.
	h.save("name: pulse\nparams:\n  who: {type: string, default: x}\nschedules:\n  - cron: \"@daily\"\ntasks:\n  - id: say\n    run: echo hi\n")
	if _, ok := h.eng.Trigger(name); !ok {
		t.Fatal("the new schedule is not active")
	}
	if err := h.eng.DeleteComposition(context.Background(), "pulse"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.eng.Trigger(name); ok {
		t.Error("the schedule of a deleted composition is still active")
	}
}

// TestDeliverSameDigestTwice: two deliveries with the same digest, however
// their ids differ, record one event and start one run; the second is
// ErrDuplicate. This is the check that holds when two copies of a request
// arrive together, past the handler's look-up. The digest is remembered
// for the trigger's replay_window, and the event's headers are redacted.
func TestDeliverSameDigestTwice(t *testing.T) {
	h := newHarness(t, `
name: build
tasks:
  - id: b
    run: "true"
`)
	tr := parseTrigger(t, "name: gh\nkind: github\nsecret: s3cret-for-engine\nreplay_window: 2h\nrules:\n  - run: {composition: build}\n")
	h.eng.SetTriggers([]*trigger.Trigger{tr})
	ctx := context.Background()
	first := &trigger.Delivery{Event: "push", ID: "one", Digest: "digest-1", Headers: map[string]string{"x-delivery-id": "token=s3cret-for-engine"}}
	ev, err := h.eng.Deliver(ctx, "gh", first, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Headers["x-delivery-id"] != "token=[redacted]" {
		t.Errorf("headers stored as %v", ev.Headers)
	}
	if got := ev.DigestUntil.Sub(ev.ReceivedAt); got != 2*time.Hour {
		t.Errorf("digest kept for %v, want the replay_window of 2h", got)
	}
	for _, id := range []string{"two", ""} {
		if _, err := h.eng.Deliver(ctx, "gh", &trigger.Delivery{Event: "push", ID: id, Digest: "digest-1"}, 0); err != engine.ErrDuplicate {
			t.Errorf("the same digest with id %q: %v, want ErrDuplicate", id, err)
		}
	}
	if _, err := h.eng.Deliver(ctx, "gh", &trigger.Delivery{Event: "push", ID: "three", Digest: "digest-2"}, 0); err != nil {
		t.Errorf("another digest: %v", err)
	}
	if n, e := len(h.runsOf("build")), len(h.events("gh")); n != 2 || e != 2 {
		t.Errorf("%d runs and %d events, want 2 and 2", n, e)
	}
}
