package engine

import (
	"fmt"
	"os"
	"sort"

	"baton/composition"
	"baton/model"
	"baton/plugin"
	"baton/trigger"
)

// TriggerProblem says why a stored trigger is not active.
type TriggerProblem struct {
	Name string
	Err  error
}

// LoadTriggers parses stored trigger sources (secrets from the server's
// environment) and makes the valid ones active. Invalid ones are returned
// with their problems and stay inactive.
func (e *Engine) LoadTriggers(sources []model.TriggerSource) []TriggerProblem {
	var ok []*trigger.Trigger
	var bad []TriggerProblem
	var secretEnv []string
	for _, src := range sources {
		t, probs := trigger.Parse(src.Name+".yaml", []byte(src.Source), os.LookupEnv)
		if t != nil && t.SecretEnv != "" {
			secretEnv = append(secretEnv, t.SecretEnv)
		}
		if len(probs) > 0 {
			bad = append(bad, TriggerProblem{Name: src.Name, Err: probs})
			continue
		}
		if err := CheckTrigger(t); err != nil {
			bad = append(bad, TriggerProblem{Name: src.Name, Err: err})
			continue
		}
		if t.Name != src.Name {
			bad = append(bad, TriggerProblem{Name: src.Name, Err: fmt.Errorf("stored as %s but named %s inside", src.Name, t.Name)})
			continue
		}
		ok = append(ok, t)
	}
	// Secrets of the server's, in every trigger stored: never in a
	// task's environment.
	e.cat.Env.Deny(secretEnv...)
	sort.Slice(bad, func(i, j int) bool { return bad[i].Name < bad[j].Name })
	e.SetTriggers(ok)
	e.trig.mu.Lock()
	e.trig.problems = bad
	e.trig.mu.Unlock()
	return bad
}

// TriggerProblems returns the stored triggers that are not active, and why.
func (e *Engine) TriggerProblems() []TriggerProblem {
	e.trig.mu.RLock()
	defer e.trig.mu.RUnlock()
	return append([]TriggerProblem(nil), e.trig.problems...)
}

// CheckTrigger judges what the trigger package cannot alone: a secret_env
// naming a variable every task inherits (PATH, HOME, LANG, ...) is
// refused, since it cannot both be kept from tasks and given to them.
func CheckTrigger(t *trigger.Trigger) error {
	if t.SecretEnv == "" || !plugin.InheritedByDefault(t.SecretEnv) {
		return nil
	}
	pos := t.Pos["secret_env"]
	return composition.Problems{{File: t.File, Line: pos.Line, Col: pos.Col, Message: fmt.Sprintf(
		"secret_env %s names a variable every task inherits; keep the secret in a variable of its own, such as GITHUB_WEBHOOK_SECRET", t.SecretEnv)}}
}
