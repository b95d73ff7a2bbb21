package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"baton/engine"
	"baton/model"
	"baton/plugin"
	"baton/protocol"
	"baton/storage"
)

// hookStore is the real store with hooks on the agent methods, so that a
// test can act at a chosen moment of the hub's work: right after a
// credential was checked, after the agent tokens were read, during an
// agent's removal.
type hookStore struct {
	*storage.Store
	mu sync.Mutex
	// afterClaim runs after ClaimAgent, before the hub goes on.
	afterClaim func(name string)
	// claimErr, when set, is what ClaimAgent fails with.
	claimErr error
	// afterTokenIDs runs after AgentTokenIDs read its answer, before the
	// hub uses it.
	afterTokenIDs func()
	// duringDelete runs in DeleteAgent, before the record is deleted.
	duringDelete func(name string)
}

var _ engine.Store = (*hookStore)(nil)

// set changes the hooks while the engine runs.
func (s *hookStore) set(change func(s *hookStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s)
}

func (s *hookStore) ClaimAgent(ctx context.Context, name, credentialHash string, tokenID int64, now time.Time, allow func([]string, map[string]string) error) (model.AgentClaim, error) {
	s.mu.Lock()
	after, fail := s.afterClaim, s.claimErr
	s.mu.Unlock()
	if fail != nil {
		return 0, fail
	}
	c, err := s.Store.ClaimAgent(ctx, name, credentialHash, tokenID, now, allow)
	if after != nil {
		after(name)
	}
	return c, err
}

func (s *hookStore) AgentTokenIDs(ctx context.Context) (map[int64]bool, error) {
	ids, err := s.Store.AgentTokenIDs(ctx)
	s.mu.Lock()
	after := s.afterTokenIDs
	s.mu.Unlock()
	if after != nil {
		after()
	}
	return ids, err
}

func (s *hookStore) DeleteAgent(ctx context.Context, name string) error {
	s.mu.Lock()
	during := s.duringDelete
	s.mu.Unlock()
	if during != nil {
		during(name)
	}
	return s.Store.DeleteAgent(ctx, name)
}

// newHookFleet is a fleet whose engine works through a hookStore.
func newHookFleet(t *testing.T, hub engine.HubConfig) (*fleet, *hookStore) {
	t.Helper()
	var hs *hookStore
	a := newAPIOver(t, plugin.NewRegistry(), hub, 1, func(s *storage.Store) engine.Store {
		hs = &hookStore{Store: s}
		return hs
	}, nil)
	return &fleet{apiHarness: a, agentToken: fleetToken(t, a)}, hs
}

// TestAgentCredentialResetDuringHandshake: a credential reset that lands
// after the server checked an agent's credential but before the agent's
// connection took effect still cuts the agent off: it is refused with a
// fatal error, stops, and is never online.
func TestAgentCredentialResetDuringHandshake(t *testing.T) {
	f, hs := newHookFleet(t, engine.HubConfig{})
	var once sync.Once
	hs.set(func(s *hookStore) {
		s.afterClaim = func(name string) {
			once.Do(func() {
				if err := f.eng.ResetCredential(context.Background(), name); err != nil {
					t.Errorf("reset: %v", err)
				}
			})
		}
	})
	ag := f.launch("thief", agentOpts{pools: []string{"t"}})
	if err := ag.ended(t, 15*time.Second); !isFatal(err, "reset") {
		t.Errorf("the agent stopped with %v, want the fatal error of a reset credential", err)
	}
	if st := f.agentStatus("thief"); st == "online" {
		t.Errorf("the agent whose credential was reset is %s", st)
	}
}

// TestAgentTokenWatchNewToken: an agent let in with a token made after
// the hub read the list of tokens, but before the hub acted on that list,
// is not taken for one whose token was revoked: it stays connected.
func TestAgentTokenWatchNewToken(t *testing.T) {
	f, hs := newHookFleet(t, engine.HubConfig{RevokeCheck: 10 * time.Millisecond})
	var readings atomic.Int64
	var armed atomic.Bool
	read, goOn := make(chan struct{}), make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(goOn) }) })
	hs.set(func(s *hookStore) {
		s.afterTokenIDs = func() {
			readings.Add(1)
			if armed.CompareAndSwap(true, false) {
				close(read)
				<-goOn
			}
		}
	})
	armed.Store(true)
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the hub did not read the agent tokens")
	}
	// The hub holds a list without the token made now.
	token, _ := f.newAgentToken(`{"name": "fresh"}`)
	f.startAgent("fresh-1", agentOpts{token: token})
	n := readings.Load()
	release.Do(func() { close(goOn) })
	// Two readings more: the hub is done with the list it held.
	deadline := time.Now().Add(10 * time.Second)
	for readings.Load() < n+2 {
		if time.Now().After(deadline) {
			t.Fatal("the hub stopped reading the agent tokens")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := f.agentStatus("fresh-1"); st != "online" {
		t.Errorf("the agent of a new token is %q after the hub checked the tokens", st)
	}
}

// records keeps the log records of a test.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// about returns the records at level warn or above with an attribute
// key=value, as text.
func (r *records) about(key, value string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.list {
		var hit bool
		var text strings.Builder
		text.WriteString(rec.Level.String() + " " + rec.Message)
		rec.Attrs(func(a slog.Attr) bool {
			hit = hit || (a.Key == key && a.Value.String() == value)
			text.WriteString(" " + a.String())
			return true
		})
		if hit && rec.Level >= slog.LevelWarn {
			out = append(out, text.String())
		}
	}
	return out
}

// TestAgentRefusedOnStoreError: when the server cannot check an agent's
// credential, the agent is told to retry, and the failure is logged once,
// with its cause.
func TestAgentRefusedOnStoreError(t *testing.T) {
	logs := &records{}
	var hs *hookStore
	a := newAPIOver(t, plugin.NewRegistry(), engine.HubConfig{}, 1, func(s *storage.Store) engine.Store {
		hs = &hookStore{Store: s}
		return hs
	}, logs)
	f := &fleet{apiHarness: a, agentToken: fleetToken(t, a)}
	hs.set(func(s *hookStore) { s.claimErr = errors.New("disk on fire") })
	types, msg := f.rawHello(f.agentToken, map[string]any{"version": protocol.Version, "name": "unlucky", "slots": 1,
		"credential": strings.Repeat("0f", 32)})
	if len(types) != 1 || types[0] != protocol.TypeError || !strings.Contains(msg, "retried") {
		t.Errorf("the agent got %v (%q), want an error saying it is retried", types, msg)
	}
	got := logs.about("agent", "unlucky")
	if len(got) != 1 || !strings.Contains(got[0], "disk on fire") {
		t.Errorf("the failure was logged %d times, want once with its cause:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestAgentRemoveLeavesTheHubFree: while an agent's removal writes to the
// database, the hub goes on serving (here: the list of agents answers),
// and a hello of the name being removed is refused for now (not fatal: it
// retries) instead of interleaving with the removal.
func TestAgentRemoveLeavesTheHubFree(t *testing.T) {
	f, hs := newHookFleet(t, engine.HubConfig{})
	stop := f.startAgent("gone", agentOpts{})
	stop()
	f.waitAgent("gone", "offline")
	deleting, goOn := make(chan struct{}), make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(goOn) }) })
	hs.set(func(s *hookStore) {
		s.duringDelete = func(name string) {
			if name == "gone" {
				close(deleting)
				<-goOn
			}
		}
	})
	removed := make(chan error, 1)
	go func() { removed <- f.eng.RemoveAgent(context.Background(), "gone") }()
	select {
	case <-deleting:
	case <-time.After(10 * time.Second):
		t.Fatal("the removal did not reach the database")
	}

	listed := make(chan struct{})
	go func() {
		f.eng.Agents(context.Background(), nil)
		close(listed)
	}()
	select {
	case <-listed:
	case <-time.After(10 * time.Second):
		t.Error("the hub waited for the removal's database write")
	}
	types, msg := f.rawHello(f.agentToken, map[string]any{"version": protocol.Version, "name": "gone", "slots": 1,
		"credential": strings.Repeat("0f", 32)})
	if len(types) != 1 || types[0] != protocol.TypeError || !strings.Contains(msg, "being removed") {
		t.Errorf("a hello during the removal got %v (%q), want an error saying the agent is being removed", types, msg)
	}

	release.Do(func() { close(goOn) })
	if err := <-removed; err != nil {
		t.Fatalf("remove: %v", err)
	}
	f.do("GET", "/api/v1/agents/gone", "", http.StatusNotFound, nil)
	f.startAgent("gone", agentOpts{})
}
