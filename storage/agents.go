package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

const agentColumns = `name, facts, labels, pools, set_labels, set_pools, slots, state, online, version, workdir, address,
	connected_at, last_seen, last_error, credential_hash != '', registered_at, token_id`

func scanAgent(sc scanner) (*model.Agent, error) {
	var a model.Agent
	var facts, labels, pools, setLabels, setPools string
	var connected, seen, registered int64
	if err := sc.Scan(&a.Name, &facts, &labels, &pools, &setLabels, &setPools, &a.Slots, &a.State, &a.Online, &a.Version,
		&a.Workdir, &a.Address, &connected, &seen, &a.LastError, &a.Registered, &registered, &a.TokenID); err != nil {
		return nil, err
	}
	a.ConnectedAt, a.LastSeen, a.RegisteredAt = fromMicros(connected), fromMicros(seen), fromMicros(registered)
	if err := errors.Join(fromJSON(facts, &a.Facts), fromJSON(labels, &a.Labels), fromJSON(pools, &a.Pools),
		fromJSON(setLabels, &a.SetLabels), fromJSON(setPools, &a.SetPools)); err != nil {
		return nil, fmt.Errorf("decode agent %s: %w", a.Name, err)
	}
	return &a, nil
}

// AgentConnected records an agent that said hello: what it reported, and
// that it is online. An agent seen for the first time is enabled.
func (s *Store) AgentConnected(ctx context.Context, a *model.Agent) error {
	facts, err := toJSON(a.Facts)
	if err != nil {
		return err
	}
	labels, _ := toJSON(a.Labels)
	pools := "[]"
	if len(a.Pools) > 0 {
		pools, _ = toJSON(a.Pools)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agents (name, facts, labels, pools, slots, online, version, workdir, address, connected_at, last_seen, last_error)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, '')
			ON CONFLICT (name) DO UPDATE SET facts = excluded.facts, labels = excluded.labels, pools = excluded.pools,
				slots = excluded.slots, online = 1, version = excluded.version, workdir = excluded.workdir,
				address = excluded.address, connected_at = excluded.connected_at, last_seen = excluded.last_seen, last_error = ''`,
			a.Name, facts, labels, pools, a.Slots, a.Version, a.Workdir, a.Address, micros(a.ConnectedAt), micros(a.LastSeen))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: agent %s connected: %w", a.Name, err)
	}
	return nil
}

// AgentDisconnected records that an agent went away, and why.
func (s *Store) AgentDisconnected(ctx context.Context, name string, lastSeen time.Time, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agents SET online = 0, last_seen = ?, last_error = ? WHERE name = ?`, micros(lastSeen), reason, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: agent %s disconnected: %w", name, err)
	}
	return nil
}

// AgentSeen records an agent's last sign of life and its facts, when they changed.
func (s *Store) AgentSeen(ctx context.Context, name string, lastSeen time.Time, facts map[string]any) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if facts == nil {
			_, err := tx.ExecContext(ctx, `UPDATE agents SET last_seen = ? WHERE name = ?`, micros(lastSeen), name)
			return err
		}
		f, err := toJSON(facts)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE agents SET last_seen = ?, facts = ? WHERE name = ?`, micros(lastSeen), f, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: agent %s: %w", name, err)
	}
	return nil
}

// ResetAgentsOnline marks every agent offline: at server start, none is
// connected yet.
func (s *Store) ResetAgentsOnline(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agents SET online = 0 WHERE online = 1`)
		return err
	})
}

// GetAgent returns one agent.
func (s *Store) GetAgent(ctx context.Context, name string) (*model.Agent, error) {
	a, err := scanAgent(s.r.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: agent %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: agent %s: %w", name, err)
	}
	return a, nil
}

// ListAgents returns every agent by name.
func (s *Store) ListAgents(ctx context.Context) ([]*model.Agent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("storage: list agents: %w", err)
	}
	defer rows.Close()
	var out []*model.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PatchAgent applies an operator's change and returns the agent.
func (s *Store) PatchAgent(ctx context.Context, name string, p model.AgentPatch) (*model.Agent, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agents WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("agent %s: %w", name, ErrNotFound)
		}
		if p.Pools != nil {
			v, _ := toJSON(*p.Pools)
			if len(*p.Pools) == 0 {
				v = "[]"
			}
			if _, err := tx.ExecContext(ctx, `UPDATE agents SET set_pools = ? WHERE name = ?`, v, name); err != nil {
				return err
			}
		}
		if p.Labels != nil {
			v, _ := toJSON(*p.Labels)
			if _, err := tx.ExecContext(ctx, `UPDATE agents SET set_labels = ? WHERE name = ?`, v, name); err != nil {
				return err
			}
		}
		if p.State != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE agents SET state = ? WHERE name = ?`, *p.State, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: patch agent %s: %w", name, err)
	}
	return s.GetAgent(ctx, name)
}

// CreateAgentJob records a job given to an agent, before it is sent.
func (s *Store) CreateAgentJob(ctx context.Context, j *model.AgentJob) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_jobs (job_id, run_id, task_id, attempt, agent, log_seq, assigned_at) VALUES (?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (job_id) DO UPDATE SET agent = excluded.agent`, j.JobID, j.RunID, j.TaskID, j.Attempt, j.Agent, micros(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: record job %s: %w", j.JobID, err)
	}
	return nil
}

// GetAgentJob returns a job given to an agent.
func (s *Store) GetAgentJob(ctx context.Context, jobID string) (*model.AgentJob, error) {
	var j model.AgentJob
	err := s.r.QueryRowContext(ctx, `SELECT job_id, run_id, task_id, attempt, agent, log_seq FROM agent_jobs WHERE job_id = ?`, jobID).
		Scan(&j.JobID, &j.RunID, &j.TaskID, &j.Attempt, &j.Agent, &j.LogSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: job %s: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: job %s: %w", jobID, err)
	}
	return &j, nil
}

// DeleteAgentJob forgets a job whose result is stored.
func (s *Store) DeleteAgentJob(ctx context.Context, jobID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM agent_jobs WHERE job_id = ?`, jobID)
		return err
	})
}
