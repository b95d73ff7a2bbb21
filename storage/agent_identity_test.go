package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"baton/model"
)

func TestClaimAgent(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	now := time.Now()
	steps := []struct {
		what  string
		do    func() error // before the claim, when set
		name  string
		cred  string
		claim model.AgentClaim
	}{
		{"a new name", nil, "a1", "cred-1", model.ClaimRegistered},
		{"the same credential again", nil, "a1", "cred-1", model.ClaimProven},
		{"another credential", nil, "a1", "cred-2", model.ClaimMismatch},
		{"the first credential once reset", func() error { return s.ResetAgentCredential(ctx, "a1", now) }, "a1", "cred-1", model.ClaimRevoked},
		{"a new credential after the reset", nil, "a1", "cred-2", model.ClaimRegistered},
		{"the reset credential on another name", nil, "a2", "cred-1", model.ClaimRevoked},
		{"the reset credential after the agent is removed", func() error { return s.DeleteAgent(ctx, "a1") }, "a1", "cred-1", model.ClaimRevoked},
		{"a name freed by removal", nil, "a1", "cred-3", model.ClaimRegistered},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.what, err)
			}
		}
		got, err := s.ClaimAgent(ctx, st.name, st.cred, 7, now, nil)
		if err != nil || got != st.claim {
			t.Fatalf("%s: claim = %v, %v; want %v", st.what, got, err, st.claim)
		}
	}
	a, err := s.GetAgent(ctx, "a1")
	if err != nil || !a.Registered || a.TokenID != 7 || a.RegisteredAt.IsZero() {
		t.Errorf("agent after the claims: %+v, %v", a, err)
	}
	if err := s.ResetAgentCredential(ctx, "nobody", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("reset of an unknown agent: %v", err)
	}
	if err := s.DeleteAgent(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removal of an unknown agent: %v", err)
	}
}

// TestClaimAgentAllow: the pools and labels an operator set on a record
// reach allow before the name is registered or proven; when allow says no,
// nothing is claimed, and a new name or another credential never asks it.
func TestClaimAgentAllow(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	now := time.Now()
	no := errors.New("not allowed")
	var gotPools []string
	var gotLabels map[string]string
	asked := 0
	allow := func(ok bool) func([]string, map[string]string) error {
		return func(p []string, l map[string]string) error {
			asked++
			gotPools, gotLabels = p, l
			if !ok {
				return no
			}
			return nil
		}
	}
	if c, err := s.ClaimAgent(ctx, "a1", "cred-1", 1, now, allow(false)); err != nil || c != model.ClaimRegistered || asked != 0 {
		t.Fatalf("a new name: %v, %v, asked %d times", c, err, asked)
	}
	if _, err := s.PatchAgent(ctx, "a1", model.AgentPatch{Pools: &[]string{"prod"}, Labels: &map[string]string{"tier": "gold"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimAgent(ctx, "a1", "cred-1", 2, now, allow(false)); !errors.Is(err, no) {
		t.Fatalf("the owner refused: %v, want the error of allow", err)
	}
	if len(gotPools) != 1 || gotPools[0] != "prod" || gotLabels["tier"] != "gold" {
		t.Errorf("allow was given %v %v, want the operator's pools and labels", gotPools, gotLabels)
	}
	if a, _ := s.GetAgent(ctx, "a1"); a.TokenID != 1 {
		t.Errorf("a refused claim recorded token %d", a.TokenID)
	}
	asked = 0
	if c, err := s.ClaimAgent(ctx, "a1", "cred-2", 2, now, allow(false)); err != nil || c != model.ClaimMismatch || asked != 0 {
		t.Errorf("another credential: %v, %v, asked %d times", c, err, asked)
	}
	if err := s.ResetAgentCredential(ctx, "a1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimAgent(ctx, "a1", "cred-2", 2, now, allow(false)); !errors.Is(err, no) {
		t.Fatalf("a freed name refused: %v, want the error of allow", err)
	}
	if a, _ := s.GetAgent(ctx, "a1"); a.Registered {
		t.Errorf("a refused claim registered the name")
	}
	if c, err := s.ClaimAgent(ctx, "a1", "cred-2", 2, now, allow(true)); err != nil || c != model.ClaimRegistered {
		t.Errorf("a freed name allowed: %v, %v", c, err)
	}
}

// TestClaimAgentRace: of many agents claiming one free name at once with
// different credentials, exactly one registers it.
func TestClaimAgentRace(t *testing.T) {
	s := NewTestStore(t)
	var wg sync.WaitGroup
	claims := make([]model.AgentClaim, 8)
	for i := range claims {
		wg.Go(func() {
			c, err := s.ClaimAgent(context.Background(), "contested", fmt.Sprintf("cred-%d", i), 1, time.Now(), nil)
			if err != nil {
				t.Error(err)
			}
			claims[i] = c
		})
	}
	wg.Wait()
	won := 0
	for _, c := range claims {
		if c == model.ClaimRegistered {
			won++
		} else if c != model.ClaimMismatch {
			t.Errorf("claim %v", c)
		}
	}
	if won != 1 {
		t.Errorf("%d claims registered the name, want 1", won)
	}
}

func TestStaleAgents(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	old, recent := time.Now().Add(-48*time.Hour), time.Now()
	s.ClaimAgent(ctx, "old", "c-old", 1, old, nil)
	s.ClaimAgent(ctx, "recent", "c-recent", 1, recent, nil)
	s.ClaimAgent(ctx, "reconnected", "c-re", 1, old, nil)
	s.AgentConnected(ctx, &model.Agent{Name: "reconnected", ConnectedAt: recent, LastSeen: recent})
	got, err := s.StaleAgents(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || len(got) != 1 || got[0] != "old" {
		t.Errorf("stale = %v, %v; want [old]", got, err)
	}
}

func TestAgentTokenScopeAndIDs(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	first, err := s.CreateAgentToken(ctx, &model.AgentToken{Name: "deploy", Prefix: "baton_ab", NamePattern: "deploy-*",
		Pools: []string{"deploy"}, Labels: map[string]string{"team": "*"}}, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AgentTokenByHash(ctx, "hash-1")
	if err != nil || got.NamePattern != "deploy-*" || len(got.Pools) != 1 || got.Labels["team"] != "*" {
		t.Fatalf("token = %+v, %v", got, err)
	}
	if err := s.DeleteAgentToken(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	second, err := s.CreateAgentToken(ctx, &model.AgentToken{Name: "again", Prefix: "baton_cd"}, "hash-2")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID {
		t.Errorf("the id %d of a revoked token was given to a new one", first.ID)
	}
	ids, err := s.AgentTokenIDs(ctx)
	if err != nil || ids[first.ID] || !ids[second.ID] {
		t.Errorf("ids = %v, %v", ids, err)
	}
}

// TestMigrateAgentIdentity: a database of the schema before agent
// identity keeps its agent tokens and agents; the agents hold no
// credential yet, so the first agent to connect under a name claims it.
func TestMigrateAgentIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all[:5] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	for _, q := range []string{
		`PRAGMA user_version = 5`,
		`INSERT INTO agent_tokens (id, name, hash, prefix, created_at) VALUES (4, 'old', 'old-hash', 'baton_zz', 1)`,
		`INSERT INTO agents (name, state) VALUES ('build-1', 'disabled')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tok, err := s.AgentTokenByHash(ctx, "old-hash")
	if err != nil || tok.ID != 4 || tok.Name != "old" || tok.NamePattern != "" || len(tok.Pools) != 0 {
		t.Fatalf("old token = %+v, %v", tok, err)
	}
	a, err := s.GetAgent(ctx, "build-1")
	if err != nil || a.Registered || a.State != model.AgentDisabled {
		t.Fatalf("old agent = %+v, %v", a, err)
	}
	if c, err := s.ClaimAgent(ctx, "build-1", "cred", tok.ID, time.Now(), nil); err != nil || c != model.ClaimRegistered {
		t.Errorf("first claim after the upgrade = %v, %v", c, err)
	}
}
