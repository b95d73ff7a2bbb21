package engine_test

import (
	"maps"
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

// TestParseLabels: key=value items, spaces and blank items dropped; a
// malformed item is named in the error.
func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   []string
		want map[string]string
		err  string
	}{
		{nil, nil, ""},
		{[]string{"", "  "}, nil, ""},
		{[]string{"zone=eu", " team = pay ments ", "empty="}, map[string]string{"zone": "eu", "team": "pay ments", "empty": ""}, ""},
		{[]string{"a=b=c"}, map[string]string{"a": "b=c"}, ""},
		{[]string{"team=*"}, map[string]string{"team": "*"}, ""},
		{[]string{"zone=eu", "gpu"}, nil, `label "gpu": write it as key=value`},
		{[]string{" =x"}, nil, `label "=x": write it as key=value`},
	}
	for _, tt := range tests {
		got, err := engine.ParseLabels(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%q: %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
