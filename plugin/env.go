package plugin

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// DefaultTaskEnv names the variables of the server's (or agent's) own
// environment that tasks inherit: what programs need to find each other
// and to speak the machine's language, and nothing that tends to hold a
// credential. A name ending in * stands for every name it begins.
var DefaultTaskEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "TZ",
	"LANG", "LANGUAGE", "LC_*", "SSL_CERT_FILE", "SSL_CERT_DIR",
}

// envPattern is a variable name, or a prefix followed by *.
var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\*?$`)

// EnvPolicy decides which variables of this process's environment a task
// inherits: those on an allow-list (DefaultTaskEnv and what the operator
// adds), never a BATON_ variable (they configure Baton and may hold its
// secrets) and never one denied as a secret (a trigger's secret_env). The
// composition's env: entries and the run's BATON_ variables come on top.
// The zero value and nil allow DefaultTaskEnv. It is safe for concurrent use.
type EnvPolicy struct {
	allow []string

	mu   sync.RWMutex
	deny map[string]bool
}

// NewEnvPolicy returns a policy allowing DefaultTaskEnv and extra, each a
// name or a prefix ending in *. It refuses what is not a variable name,
// a BATON_ name and a bare *.
func NewEnvPolicy(extra []string) (*EnvPolicy, error) {
	p := &EnvPolicy{allow: slices.Clone(DefaultTaskEnv)}
	for _, name := range extra {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case name == "*":
			return nil, fmt.Errorf("%q would pass the whole environment, secrets included: list the variables tasks need, such as HTTP_PROXY or JAVA_*", name)
		case !envPattern.MatchString(name):
			return nil, fmt.Errorf("%q is not an environment variable name (letters, digits and _, optionally ending in * for every name it begins)", name)
		case strings.HasPrefix(name, "BATON_"):
			return nil, fmt.Errorf("%q: BATON_ variables configure Baton and may hold its secrets; tasks never inherit them (a task gets its own BATON_RUN_ID, BATON_OUTPUT and the like)", name)
		}
		p.allow = append(p.allow, name)
	}
	return p, nil
}

// Allowed lists the names and patterns tasks inherit.
func (p *EnvPolicy) Allowed() []string {
	if p == nil || p.allow == nil {
		return slices.Clone(DefaultTaskEnv)
	}
	return slices.Clone(p.allow)
}

// Deny keeps the named variables from tasks even when the allow-list has
// them: the server denies every trigger's secret_env. It replaces the
// names denied before. On a nil policy it does nothing.
func (p *EnvPolicy) Deny(names ...string) {
	if p == nil {
		return
	}
	deny := make(map[string]bool, len(names))
	for _, n := range names {
		if n != "" {
			deny[n] = true
		}
	}
	p.mu.Lock()
	p.deny = deny
	p.mu.Unlock()
}

// Inherited returns the NAME=value entries of this process's environment
// that a task inherits.
func (p *EnvPolicy) Inherited() []string {
	allow := DefaultTaskEnv
	var deny map[string]bool
	if p != nil {
		if p.allow != nil {
			allow = p.allow
		}
		p.mu.RLock()
		deny = p.deny
		p.mu.RUnlock()
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BATON_") || deny[name] || !allowed(allow, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// InheritedByDefault reports whether every task inherits the variable
// name (it is on DefaultTaskEnv): such a variable cannot hold a secret.
func InheritedByDefault(name string) bool { return allowed(DefaultTaskEnv, name) }

func allowed(allow []string, name string) bool {
	for _, a := range allow {
		if prefix, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}
