package engine_test

import (
	"testing"

	"baton/engine"
	"baton/model"
)

// TestBusDropsASubscriberThatDoesNotRead: a subscriber that never reads is
// dropped (its channel closed) once its buffer is full; publishing never
// waits for it, and the others go on receiving.
func TestBusDropsASubscriberThatDoesNotRead(t *testing.T) {
	bus := engine.NewBus()
	stuck := bus.Subscribe(2, nil)
	reader := bus.Subscribe(1, nil)
	const n = 10_000
	got := 0
	for i := range n {
		// This loop runs on the test's goroutine: if Publish waited for
		// the stuck subscriber, it would never return.
		bus.Publish(engine.Event{Kind: engine.EventRun, RunID: int64(i), Run: &model.Run{ID: int64(i)}})
		if _, ok := <-reader.C; ok {
			got++
		}
	}
	if got != n {
		t.Errorf("the reading subscriber got %d of %d events", got, n)
	}
	buffered := 0
	for range stuck.C { // closed by the bus: the loop ends
		buffered++
	}
	if buffered != 2 {
		t.Errorf("the stuck subscriber holds %d events, want its buffer of 2", buffered)
	}
	if l := bus.Len(); l != 1 {
		t.Errorf("%d subscriptions left, want 1 (the stuck one dropped)", l)
	}
	stuck.Cancel() // after a drop: no panic
	reader.Cancel()
}

// TestEngineNotSlowedByAStuckSubscriber: runs end while a subscriber that
// never reads is attached to the engine's bus.
func TestEngineNotSlowedByAStuckSubscriber(t *testing.T) {
	h := newHarness(t, `
name: quick
tasks:
  - id: a
    run: seq 1 2000
  - id: b
    run: echo done
`)
	stuck := h.eng.Bus().Subscribe(1, nil)
	defer stuck.Cancel()
	for range 5 {
		if r := h.waitDone(h.startRun("quick", nil).ID); r.Status != model.RunSucceeded {
			t.Fatalf("run = %s %q", r.Status, r.Error)
		}
	}
	if _, open := <-stuck.C; open {
		for range stuck.C {
		}
	}
	if _, open := <-stuck.C; open {
		t.Fatal("the stuck subscriber was not dropped")
	}
}
