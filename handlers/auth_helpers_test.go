package handlers

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log output that a server writes while a test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *lockedBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// serverWith starts a second server over the harness's engine and store,
// with cfg's other settings, and returns its URL. With a clock, the login
// throttle reads the time from it.
func (a *apiHarness) serverWith(cfg Config, clock func() time.Time) string {
	cfg.Engine, cfg.Store, cfg.Version = a.eng, a.store, "test"
	if cfg.Logger == nil {
		cfg.Logger = testLogger(a.t)
	}
	h := newHandler(cfg)
	if clock != nil {
		h.logins = newLoginThrottle(defaultThrottle(), clock)
	}
	srv := httptest.NewServer(h.root())
	a.t.Cleanup(srv.Close)
	return srv.URL
}

// frozen is a clock that stands still.
func frozen() func() time.Time {
	t := time.Now()
	return func() time.Time { return t }
}

func mustPrefixes(t *testing.T, values ...string) []netip.Prefix {
	t.Helper()
	ps, err := ParseTrustedProxies(values)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
