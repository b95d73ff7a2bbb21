package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"baton/model"
)

const runColumns = `id, composition, version, params, status, error, ending, forced, queue_reason, trigger, parent_run_id, parent_task,
	context, outputs, agent, workspace, created_at, started_at, finished_at, retry_of`

// CreateRun stores a new run with the initial state of its tasks and sets
// r.ID. When the run is a child started by a composition task, the parent's
// task row gets the child's id in the same transaction, so a restart can
// never start the child twice.
func (s *Store) CreateRun(ctx context.Context, r *model.Run, tasks []*model.TaskRun) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return insertRun(ctx, tx, r, tasks) }); err != nil {
		return fmt.Errorf("storage: create run of %s: %w", r.Composition, err)
	}
	return nil
}

// FinishRun writes a run's final state and its tasks, creates the runs its
// end starts (on_failure, rules on run.finished) and records the events
// that started them, in one transaction: a crash can neither lose those
// runs nor start them twice.
func (s *Store) FinishRun(ctx context.Context, r *model.Run, tasks []*model.TaskRun, follow []model.NewRun, events []*model.Event) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.updateRun(ctx, tx, r); err != nil {
			return err
		}
		for _, t := range tasks {
			if err := s.updateTask(ctx, tx, t); err != nil {
				return err
			}
		}
		for _, f := range follow {
			if err := insertRun(ctx, tx, f.Run, f.Tasks); err != nil {
				return fmt.Errorf("run of %s: %w", f.Run.Composition, err)
			}
		}
		for _, ev := range events {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: finish run %d: %w", r.ID, err)
	}
	return nil
}

func insertRun(ctx context.Context, tx *sql.Tx, r *model.Run, tasks []*model.TaskRun) error {
	params, err := toJSON(r.Params)
	if err != nil {
		return err
	}
	rctx, err := toJSON(r.Context)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (composition, version, params, status, error, queue_reason, trigger,
		parent_run_id, parent_task, context, agent, workspace, created_at, started_at, finished_at, retry_of)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Composition, r.Version, params, r.Status, r.Error, r.QueueReason, r.Trigger,
		r.ParentRunID, r.ParentTask, rctx, r.Agent, r.Workspace, micros(r.CreatedAt), micros(r.StartedAt), micros(r.FinishedAt), r.RetryOf)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for i, t := range tasks {
		t.RunID = id
		if err := insertTask(ctx, tx, t, i); err != nil {
			return err
		}
	}
	if r.ParentRunID != 0 && r.ParentTask != "" {
		res, err := tx.ExecContext(ctx, `UPDATE task_runs SET child_run_id = ? WHERE run_id = ? AND task_id = ?`, id, r.ParentRunID, r.ParentTask)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("parent task %d/%s: %w", r.ParentRunID, r.ParentTask, ErrNotFound)
		}
	}
	r.ID = id
	return nil
}

// insertTask stores the initial state of a task of a new run: pending, or
// the result a retry kept.
func insertTask(ctx context.Context, tx *sql.Tx, t *model.TaskRun, idx int) error {
	outputs, approval, contextSet, err := taskJSON(t)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO task_runs (run_id, task_id, idx, status, attempt, outputs, error, agent,
		child_run_id, approval, started_at, finished_at, kept_from, context_set, if_false) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.RunID, t.TaskID, idx, t.Status, t.Attempt, outputs, t.Error, t.Agent,
		t.ChildRunID, approval, micros(t.StartedAt), micros(t.FinishedAt), t.KeptFrom, contextSet, t.IfFalse)
	return err
}

// taskJSON encodes the JSON columns of a task row; contextSet is nil (NULL)
// when the task's context keys are not known.
func taskJSON(t *model.TaskRun) (outputs, approval string, contextSet any, err error) {
	if outputs, err = toJSON(t.Outputs); err != nil {
		return "", "", nil, err
	}
	if t.Approval != nil {
		if approval, err = toJSON(t.Approval); err != nil {
			return "", "", nil, err
		}
	}
	if t.ContextSet != nil {
		if contextSet, err = toJSON(t.ContextSet); err != nil {
			return "", "", nil, err
		}
	}
	return outputs, approval, contextSet, nil
}

// SaveState writes a run's row and the given task rows in one transaction:
// every state transition of the engine goes through here, so what a reader
// sees is always a whole step. run may be nil to write tasks only.
func (s *Store) SaveState(ctx context.Context, r *model.Run, tasks ...*model.TaskRun) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if r != nil {
			if err := s.updateRun(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, t := range tasks {
			if err := s.updateTask(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: save state: %w", err)
	}
	return nil
}

// SetQueueReason records why a queued run waits. A run that is no longer
// queued (it started, or was cancelled meanwhile) is left as it is, and
// updated is false.
func (s *Store) SetQueueReason(ctx context.Context, runID int64, reason string) (updated bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET queue_reason = ? WHERE id = ? AND status = ?`, reason, runID, model.RunQueued)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		updated = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: queue reason of run %d: %w", runID, err)
	}
	return updated, nil
}

const updateRunSQL = `UPDATE runs SET status = ?, error = ?, ending = ?, forced = ?, queue_reason = ?, context = ?, outputs = ?,
	agent = ?, workspace = ?, started_at = ?, finished_at = ? WHERE id = ?`

const updateTaskSQL = `UPDATE task_runs SET status = ?, attempt = ?, outputs = ?, error = ?, agent = ?,
	child_run_id = ?, approval = ?, started_at = ?, finished_at = ?, context_set = ?, if_false = ? WHERE run_id = ? AND task_id = ?`

func (s *Store) updateRun(ctx context.Context, tx *sql.Tx, r *model.Run) error {
	rctx, err := toJSON(r.Context)
	if err != nil {
		return err
	}
	outputs, err := toJSON(r.Outputs)
	if err != nil {
		return err
	}
	res, err := tx.StmtContext(ctx, s.stmtUpdateRun).ExecContext(ctx,
		r.Status, r.Error, r.Ending, r.Forced, r.QueueReason, rctx, outputs, r.Agent, r.Workspace, micros(r.StartedAt), micros(r.FinishedAt), r.ID)
	if err != nil {
		return fmt.Errorf("run %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("run %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

func (s *Store) updateTask(ctx context.Context, tx *sql.Tx, t *model.TaskRun) error {
	outputs, approval, contextSet, err := taskJSON(t)
	if err != nil {
		return err
	}
	res, err := tx.StmtContext(ctx, s.stmtUpdateTask).ExecContext(ctx,
		t.Status, t.Attempt, outputs, t.Error, t.Agent, t.ChildRunID, approval, micros(t.StartedAt), micros(t.FinishedAt), contextSet, t.IfFalse, t.RunID, t.TaskID)
	if err != nil {
		return fmt.Errorf("task %d/%s: %w", t.RunID, t.TaskID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("task %d/%s: %w", t.RunID, t.TaskID, ErrNotFound)
	}
	return nil
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, id int64) (*model.Run, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	r, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: run %d: %w", id, err)
	}
	return r, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (*model.Run, error) {
	var r model.Run
	var params, rctx, outputs string
	var created, started, finished int64
	if err := sc.Scan(&r.ID, &r.Composition, &r.Version, &params, &r.Status, &r.Error, &r.Ending, &r.Forced, &r.QueueReason, &r.Trigger,
		&r.ParentRunID, &r.ParentTask, &rctx, &outputs, &r.Agent, &r.Workspace, &created, &started, &finished, &r.RetryOf); err != nil {
		return nil, err
	}
	r.CreatedAt, r.StartedAt, r.FinishedAt = fromMicros(created), fromMicros(started), fromMicros(finished)
	if err := errors.Join(fromJSON(params, &r.Params), fromJSON(rctx, &r.Context), fromJSON(outputs, &r.Outputs)); err != nil {
		return nil, fmt.Errorf("decode run %d: %w", r.ID, err)
	}
	return &r, nil
}

// RunFilter narrows ListRuns. Zero fields match everything.
type RunFilter struct {
	Composition string
	Statuses    []model.RunStatus
	ParentRunID int64
	RetryOf     int64 // only the retries of this run
	BeforeID    int64 // only runs older than this id, for paging
	Limit       int   // default 50, at most 1000
}

// ListRuns returns runs newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]*model.Run, error) {
	var where []string
	var args []any
	if f.Composition != "" {
		where = append(where, "composition = ?")
		args = append(args, f.Composition)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.ParentRunID != 0 {
		where = append(where, "parent_run_id = ?")
		args = append(args, f.ParentRunID)
	}
	if f.RetryOf != 0 {
		where = append(where, "retry_of = ?")
		args = append(args, f.RetryOf)
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", min(limit, 1000))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list runs: %w", err)
	}
	defer rows.Close()
	var out []*model.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ActiveRuns returns every run that has not ended, oldest first: what the
// engine must pick up again after a restart.
func (s *Store) ActiveRuns(ctx context.Context) ([]*model.Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE status IN (?, ?, ?) ORDER BY id`,
		model.RunQueued, model.RunRunning, model.RunWaiting)
	if err != nil {
		return nil, fmt.Errorf("storage: active runs: %w", err)
	}
	defer rows.Close()
	var out []*model.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: active runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetTasks returns the tasks of a run in composition order.
func (s *Store) GetTasks(ctx context.Context, runID int64) ([]*model.TaskRun, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT task_id, status, attempt, outputs, error, agent, child_run_id, approval, started_at, finished_at,
		kept_from, context_set, if_false FROM task_runs WHERE run_id = ? ORDER BY idx`, runID)
	if err != nil {
		return nil, fmt.Errorf("storage: tasks of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []*model.TaskRun
	for rows.Next() {
		t := &model.TaskRun{RunID: runID}
		var outputs, approval string
		var contextSet sql.NullString
		var started, finished int64
		if err := rows.Scan(&t.TaskID, &t.Status, &t.Attempt, &outputs, &t.Error, &t.Agent, &t.ChildRunID, &approval, &started, &finished,
			&t.KeptFrom, &contextSet, &t.IfFalse); err != nil {
			return nil, fmt.Errorf("storage: tasks of run %d: %w", runID, err)
		}
		t.StartedAt, t.FinishedAt = fromMicros(started), fromMicros(finished)
		if err := fromJSON(outputs, &t.Outputs); err != nil {
			return nil, fmt.Errorf("storage: task %d/%s outputs: %w", runID, t.TaskID, err)
		}
		if contextSet.Valid {
			t.ContextSet = map[string]string{}
			if err := fromJSON(contextSet.String, &t.ContextSet); err != nil {
				return nil, fmt.Errorf("storage: task %d/%s context keys: %w", runID, t.TaskID, err)
			}
		}
		if approval != "" {
			t.Approval = &model.Approval{}
			if err := fromJSON(approval, t.Approval); err != nil {
				return nil, fmt.Errorf("storage: task %d/%s approval: %w", runID, t.TaskID, err)
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountActive returns how many runs are running and how many are waiting
// for an approval, for the navigation badges.
func (s *Store) CountActive(ctx context.Context) (running, waiting int, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM runs WHERE status IN (?, ?) GROUP BY status`, model.RunRunning, model.RunWaiting)
	if err != nil {
		return 0, 0, fmt.Errorf("storage: count active runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st model.RunStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return 0, 0, fmt.Errorf("storage: count active runs: %w", err)
		}
		if st == model.RunRunning {
			running = n
		} else {
			waiting = n
		}
	}
	return running, waiting, rows.Err()
}

// LastRuns returns the newest run of each composition.
func (s *Store) LastRuns(ctx context.Context) (map[string]*model.Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY composition)`)
	if err != nil {
		return nil, fmt.Errorf("storage: last runs: %w", err)
	}
	defer rows.Close()
	out := map[string]*model.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: last runs: %w", err)
		}
		out[r.Composition] = r
	}
	return out, rows.Err()
}
