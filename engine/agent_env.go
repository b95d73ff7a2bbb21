package engine

import (
	"maps"

	"baton/composition"
)

// agentInfo is what the fields of a work task see of the executor it runs
// on (agent.name, agent.facts, agent.labels, agent.pools): the server's
// own facts for the local executor, the facts, labels and pools an agent
// last reported (with an operator's on top) for an agent.
func (e *Engine) agentInfo(exec Executor) composition.AgentInfo {
	name := exec.Name()
	if name == "local" {
		return composition.AgentInfo{Name: name, Facts: maps.Clone(e.localFacts)}
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	a := e.hub.agents[name]
	if a == nil {
		return composition.AgentInfo{Name: name}
	}
	return composition.AgentInfo{Name: name, Facts: maps.Clone(a.info.Facts), Labels: a.info.AllLabels(), Pools: a.info.AllPools()}
}
