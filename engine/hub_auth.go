package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"baton/model"
	"baton/protocol"
)

// refusal is why the hub turns an agent away, as the agent is told it.
// Fatal ones make the agent stop: a person must act. err is the server's
// own failure behind it, if any, for the log only.
type refusal struct {
	msg   string
	fatal bool
	err   error
}

func (r *refusal) Error() string { return r.msg }

// credentialHash is the stored form of an agent's credential. Credentials
// are long random strings, so a fast hash is enough.
func credentialHash(c string) string {
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:])
}

// admit checks that the token allows what hello claims and that hello's
// credential holds its name (registering the name when no credential holds
// it). It returns nil or why the agent is refused.
func (h *Hub) admit(ctx context.Context, hello *protocol.Hello, tok *model.AgentToken) *refusal {
	if err := protocol.CheckCredential(hello.Credential); err != nil {
		return &refusal{fatal: true, msg: fmt.Sprintf("agent %s sent no usable credential (%v): an agent proves its name with the credential kept in its workdir; run the Baton release of this server on the agent", hello.Name, err)}
	}
	if err := tokenAllows(tok, hello); err != nil {
		return err
	}
	allow := func(setPools []string, setLabels map[string]string) error {
		if r := setAllowed(tok, hello.Name, setPools, setLabels); r != nil {
			return r
		}
		return nil
	}
	claim, err := h.e.store.ClaimAgent(ctx, hello.Name, credentialHash(hello.Credential), tok.ID, time.Now(), allow)
	var denied *refusal
	if errors.As(err, &denied) {
		return denied
	}
	if err != nil {
		return &refusal{msg: "the server could not check the agent's credential; it is retried", err: err}
	}
	file := "agent-credential in the agent's --workdir"
	if strings.HasSuffix(hello.Workdir, "/workspaces") {
		file = path.Join(path.Dir(hello.Workdir), "agent-credential")
	}
	switch claim {
	case model.ClaimRevoked:
		return &refusal{fatal: true, msg: fmt.Sprintf("the credential of agent %s was reset on the server, so it no longer holds the name: to register this machine again, delete %s and start the agent", hello.Name, file)}
	case model.ClaimMismatch:
		return &refusal{fatal: true, msg: fmt.Sprintf("the name %s belongs to another agent installation: give this agent another --name; or, if this machine is %s and lost its workdir, reset the agent's credential on the server (Agents → %s → Reset credential, or DELETE /api/v1/agents/%s/credential) and start it again", hello.Name, hello.Name, hello.Name, hello.Name)}
	case model.ClaimRegistered:
		h.e.log.Info("agent registered: its credential now holds the name", "agent", hello.Name, "token", tok.Name)
	}
	return nil
}

// tokenAllows checks hello's name, pools and labels against the token's
// limits; the refusal says what is not allowed and what to do.
func tokenAllows(tok *model.AgentToken, hello *protocol.Hello) *refusal {
	deny := func(format string, args ...any) *refusal {
		return &refusal{fatal: true, msg: fmt.Sprintf(format, args...) + fmt.Sprintf("; change the agent's flags, or connect with a token that allows it (token %q: %s)", tok.Name, ScopeText(tok))}
	}
	if tok.NamePattern != "" {
		if ok, _ := path.Match(tok.NamePattern, hello.Name); !ok {
			return deny("the agent token does not allow the name %q (it allows names matching %s)", hello.Name, tok.NamePattern)
		}
	}
	if what := notAllowed(tok, hello.Pools, hello.Labels); what != "" {
		return deny("the agent token does not allow %s", what)
	}
	return nil
}

// notAllowed names the first of pools and labels that tok does not allow
// (`pool "prod"`, `label zone=us`), or returns "" when it allows them all.
func notAllowed(tok *model.AgentToken, pools []string, labels map[string]string) string {
	if len(tok.Pools) > 0 {
		for _, p := range pools {
			if !slices.Contains(tok.Pools, p) {
				return fmt.Sprintf("pool %q", p)
			}
		}
	}
	if len(tok.Labels) > 0 {
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			v := labels[k]
			if want, ok := tok.Labels[k]; !ok || (want != "*" && want != v) {
				return fmt.Sprintf("label %s=%s", k, v)
			}
		}
	}
	return ""
}

// setAllowed checks the pools and labels an operator set on agent name
// against the limits of tok, which an agent connects with: the agent
// serves them as if it claimed them itself. The fatal refusal says what to
// change.
func setAllowed(tok *model.AgentToken, name string, setPools []string, setLabels map[string]string) *refusal {
	what := notAllowed(tok, setPools, setLabels)
	if what == "" {
		return nil
	}
	return &refusal{fatal: true, msg: fmt.Sprintf("the agent token does not allow %s, which an operator set on agent %s: remove it from the agent's pools and labels (Agents → %s, or PATCH /api/v1/agents/%s), or connect with a token that allows it (token %q: %s)",
		what, name, name, name, tok.Name, ScopeText(tok))}
}

// setAllowedLocked is setAllowed with what the hub knows an operator set
// on the agent now.
func (h *Hub) setAllowedLocked(a *agentState, tok *model.AgentToken) *refusal {
	return setAllowed(tok, a.info.Name, a.info.SetPools, a.info.SetLabels)
}

// ScopeText says in words what a token allows.
func ScopeText(t *model.AgentToken) string {
	var parts []string
	if t.NamePattern != "" {
		parts = append(parts, "names "+t.NamePattern)
	}
	if len(t.Pools) > 0 {
		parts = append(parts, "pools "+strings.Join(t.Pools, ", "))
	}
	if len(t.Labels) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
			kv = append(kv, k+"="+t.Labels[k])
		}
		parts = append(parts, "labels "+strings.Join(kv, ", "))
	}
	if len(parts) == 0 {
		return "any name, pools and labels"
	}
	return strings.Join(parts, "; ")
}

// OpenPools finds the pools that some agent tokens are limited to but
// that tokens without a pool limit may claim as well: such a limit keeps
// its own machines in, not the others out. It returns those pools and the
// names of the unlimited tokens, sorted, or nothing.
func OpenPools(toks []*model.AgentToken) (pools, unlimited []string) {
	scoped := map[string]bool{}
	for _, t := range toks {
		if len(t.Pools) == 0 {
			unlimited = append(unlimited, t.Name)
		}
		for _, p := range t.Pools {
			scoped[p] = true
		}
	}
	if len(unlimited) == 0 || len(scoped) == 0 {
		return nil, nil
	}
	slices.Sort(unlimited)
	return slices.Sorted(maps.Keys(scoped)), slices.Compact(unlimited)
}

// cutOffLocked closes an agent's connection at once, telling it why in a
// fatal error so that it stops; from now on nothing more is sent to it
// and it is given no job. Its jobs wait for it as for any agent that went
// away.
func (h *Hub) cutOffLocked(a *agentState, why string) {
	if a.sess != nil {
		a.sess.cutOff(why)
		a.wakeLocked()
	}
}

// RevokeToken closes the connections of agents that connected with the
// agent token id: it was revoked. Their jobs wait for them for the grace
// period; they can come back only with a token that is valid.
func (h *Hub) RevokeToken(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revokeTokensLocked(func(s *agentSession) bool { return s.token.ID == id })
}

// revokeTokensLocked cuts off every connection (not cut off already) that
// revoked says uses a revoked token.
func (h *Hub) revokeTokensLocked(revoked func(s *agentSession) bool) {
	for _, a := range h.agents {
		if a.connectedLocked() && revoked(a.sess) {
			h.e.log.Warn("closing an agent's connection: its agent token was revoked", "agent", a.info.Name)
			h.cutOffLocked(a, fmt.Sprintf("the agent token of agent %s was revoked: give it a valid token (baton agent-token create on the server) and start it again", a.info.Name))
		}
	}
}

// watchTokens closes, within RevokeCheck, the connections of agents whose
// token is revoked by another process (baton agent-token revoke works on
// the database directly). A connection made after the tokens were read
// may use a token made since, missing from what was read: it is left to
// the next reading. One made before has a token that existed when the
// tokens were read (the token is looked up before the connection is
// made), so a token missing then was revoked.
func (h *Hub) watchTokens(ctx context.Context) {
	t := time.NewTicker(h.cfg.RevokeCheck)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		before := h.sessions.Load()
		ids, err := h.e.store.AgentTokenIDs(ctx)
		if err != nil {
			if !failing && ctx.Err() == nil {
				h.e.log.Error("could not read the agent tokens to close the connections of revoked ones", "err", err)
			}
			failing = true
			continue
		}
		failing = false
		h.mu.Lock()
		h.revokeTokensLocked(func(s *agentSession) bool { return s.seq <= before && !ids[s.token.ID] })
		h.mu.Unlock()
	}
}

// ResetCredential revokes an agent's credential: its connection closes at
// once, it cannot connect with that credential again, and the name is free
// for the next agent its token allows.
func (e *Engine) ResetCredential(ctx context.Context, name string) error {
	if name == "local" {
		return &StateError{Msg: "the server's own executor has no credential"}
	}
	if err := e.store.ResetAgentCredential(ctx, name, time.Now()); err != nil {
		return err
	}
	h := e.hub
	h.mu.Lock()
	if a := h.agents[name]; a != nil {
		// A hello being set up now may have passed the check before the
		// reset: attach sees the count change and refuses it.
		a.resets++
		h.cutOffLocked(a, fmt.Sprintf("the credential of agent %s was reset by an operator: to register this machine again, delete agent-credential in the agent's --workdir and start it", name))
	}
	h.mu.Unlock()
	e.log.Warn("agent credential reset", "agent", name)
	return nil
}

// RevokeAgentToken deletes an agent token and closes the connections of
// the agents using it.
func (e *Engine) RevokeAgentToken(ctx context.Context, id int64) error {
	if err := e.store.DeleteAgentToken(ctx, id); err != nil {
		return err
	}
	e.hub.RevokeToken(id)
	return nil
}

// RemoveAgent forgets an agent that is not connected: its record goes, its
// jobs still waiting for it fail now as agent_lost, and its name is free.
// A connected agent is a *StateError saying what to do.
func (e *Engine) RemoveAgent(ctx context.Context, name string) error {
	if name == "local" {
		return &StateError{Msg: "the server's own executor cannot be removed; --local-slots 0 turns it off"}
	}
	if err := e.hub.remove(ctx, name, true, fmt.Sprintf("agent_lost: agent %s was removed by an operator", name)); err != nil {
		return err
	}
	e.log.Info("agent removed", "agent", name)
	return nil
}

// ScopeError is a bad limit given for a new agent token: which one
// (name_pattern, pools or labels) and what is wrong with it.
type ScopeError struct {
	Field string
	Msg   string
}

func (e *ScopeError) Error() string { return e.Field + ": " + e.Msg }

// scopeWord is what a pool or a label key may be.
var scopeWord = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,63}$`)

// CheckTokenScope checks the limits of a new agent token: a name pattern
// that is a valid glob, pools and label keys of 1 to 63 letters, digits,
// dots, dashes or underscores, and label values of at most 200 printable
// characters ("*": any value). It returns nil or a *ScopeError.
func CheckTokenScope(t *model.AgentToken) error {
	if t.NamePattern != "" {
		if _, err := path.Match(t.NamePattern, ""); err != nil || len(t.NamePattern) > 100 || strings.ContainsAny(t.NamePattern, "/\\") {
			return &ScopeError{"name_pattern", fmt.Sprintf("%q is not a name pattern: use at most 100 characters with * for any run of characters, ? for one, [a-z] for a range, such as deploy-*", t.NamePattern)}
		}
	}
	for _, p := range t.Pools {
		if !scopeWord.MatchString(p) {
			return &ScopeError{"pools", fmt.Sprintf("pool %q: use 1 to 63 letters, digits, dots, dashes or underscores", p)}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		v := t.Labels[k]
		if !scopeWord.MatchString(k) {
			return &ScopeError{"labels", fmt.Sprintf("label key %q: use 1 to 63 letters, digits, dots, dashes or underscores", k)}
		}
		if v == "" || len(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return &ScopeError{"labels", fmt.Sprintf("label %s: give a value of 1 to 200 printable characters, or * for any value", k)}
		}
	}
	return nil
}
