package handlers

import (
	"log/slog"
	"sync"
	"testing"
)

// testWriter sends log output to the test's log, and drops it once the
// test has ended (goroutines may still log while shutting down).
type testWriter struct {
	t    testing.TB
	mu   *sync.Mutex
	done *bool
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	w := testWriter{t: t, mu: &sync.Mutex{}, done: new(bool)}
	t.Cleanup(func() {
		w.mu.Lock()
		*w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, nil))
}
