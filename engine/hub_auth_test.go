package engine_test

import (
	"slices"
	"testing"

	"baton/engine"
	"baton/model"
)

// TestOpenPools: a pool some tokens are limited to is open when a token
// without a pool limit exists; the warning names both.
func TestOpenPools(t *testing.T) {
	tok := func(name string, pools ...string) *model.AgentToken {
		return &model.AgentToken{Name: name, Pools: pools}
	}
	tests := []struct {
		name       string
		toks       []*model.AgentToken
		pools, any []string
	}{
		{"no tokens", nil, nil, nil},
		{"only unlimited tokens", []*model.AgentToken{tok("old"), tok("all")}, nil, nil},
		{"every token limited", []*model.AgentToken{tok("deployers", "deploy"), tok("builders", "build")}, nil, nil},
		{"one unlimited token", []*model.AgentToken{tok("deployers", "deploy", "canary"), tok("old"), tok("builders", "build")},
			[]string{"build", "canary", "deploy"}, []string{"old"}},
		{"unlimited tokens by name", []*model.AgentToken{tok("z"), tok("deployers", "deploy"), tok("a"), tok("a")},
			[]string{"deploy"}, []string{"a", "z"}},
	}
	for _, tt := range tests {
		pools, open := engine.OpenPools(tt.toks)
		if !slices.Equal(pools, tt.pools) || !slices.Equal(open, tt.any) {
			t.Errorf("%s: %v, %v; want %v, %v", tt.name, pools, open, tt.pools, tt.any)
		}
	}
}
