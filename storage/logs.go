package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"baton/model"
)

// Chunk bounds: a flush of many lines is split so that reading the tail of
// a huge log decodes little.
const (
	chunkMaxLines = 2048
	chunkMaxBytes = 256 << 10
)

// AppendLogs stores batches of lines in one transaction and numbers them:
// on return every line's Seq is set, continuing the run's sequence without
// gaps. Lines of one run must arrive in the order they should be read.
func (s *Store) AppendLogs(ctx context.Context, batches []model.LogBatch) error {
	var buf []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		insert, err := tx.PrepareContext(ctx, `INSERT INTO log_chunks (run_id, first_seq, last_seq, data) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		for _, b := range batches {
			if len(b.Lines) == 0 {
				continue
			}
			var seq int64
			if err := tx.QueryRowContext(ctx, `SELECT log_seq FROM runs WHERE id = ?`, b.RunID).Scan(&seq); err != nil {
				return fmt.Errorf("run %d: %w", b.RunID, err)
			}
			lines := b.Lines
			for len(lines) > 0 {
				buf = buf[:0]
				var prev int64
				n := 0
				for n < len(lines) && n < chunkMaxLines && len(buf) < chunkMaxBytes {
					lines[n].Seq = seq + int64(n) + 1
					buf, prev = appendLine(buf, &lines[n], prev)
					n++
				}
				if _, err := insert.ExecContext(ctx, b.RunID, seq+1, seq+int64(n), buf); err != nil {
					return fmt.Errorf("run %d: %w", b.RunID, err)
				}
				seq += int64(n)
				lines = lines[n:]
			}
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET log_seq = ? WHERE id = ?`, seq, b.RunID); err != nil {
				return fmt.Errorf("run %d: %w", b.RunID, err)
			}
		}
		for _, b := range batches {
			for _, m := range b.Marks {
				if _, err := tx.ExecContext(ctx, `UPDATE agent_jobs SET log_seq = max(log_seq, ?) WHERE job_id = ?`, m.Seq, m.JobID); err != nil {
					return fmt.Errorf("job %s: %w", m.JobID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: append logs: %w", err)
	}
	return nil
}

// LogQuery selects lines of one run's log.
type LogQuery struct {
	RunID int64
	// After returns lines with a greater seq, oldest first (following a log).
	After int64
	// Before, when set, returns the last Limit lines with a smaller seq
	// instead (loading the tail of a huge log, then "load earlier").
	Before   int64
	Limit    int    // default 1000, at most 100000
	TaskID   string // only this task's lines
	Contains string // only lines holding this text
}

// ReadLogs returns the lines a query selects, in seq order.
func (s *Store) ReadLogs(ctx context.Context, q LogQuery) ([]model.LogLine, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 100000)
	match := func(l *model.LogLine) bool {
		return (q.TaskID == "" || l.TaskID == q.TaskID) && (q.Contains == "" || strings.Contains(l.Text, q.Contains))
	}
	var out []model.LogLine
	var err error
	if q.Before > 0 {
		out, err = s.readBackward(ctx, q.RunID, q.Before, limit, match)
	} else {
		out, err = s.readForward(ctx, q.RunID, q.After, limit, match)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read log of run %d: %w", q.RunID, err)
	}
	return out, nil
}

func (s *Store) readForward(ctx context.Context, runID, after int64, limit int, match func(*model.LogLine) bool) ([]model.LogLine, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT first_seq, data FROM log_chunks WHERE run_id = ? AND last_seq > ? ORDER BY last_seq`, runID, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.LogLine
	for rows.Next() && len(out) < limit {
		var first int64
		var data []byte
		if err := rows.Scan(&first, &data); err != nil {
			return nil, err
		}
		err := decodeChunk(data, first, func(l model.LogLine) bool {
			if l.Seq > after && match(&l) {
				out = append(out, l)
			}
			return len(out) < limit
		})
		if err != nil {
			return nil, fmt.Errorf("chunk at seq %d: %w", first, err)
		}
	}
	return out, rows.Err()
}

func (s *Store) readBackward(ctx context.Context, runID, before int64, limit int, match func(*model.LogLine) bool) ([]model.LogLine, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT first_seq, data FROM log_chunks WHERE run_id = ? AND first_seq < ? ORDER BY last_seq DESC`, runID, before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.LogLine // newest first while collecting
	var chunk []model.LogLine
	for rows.Next() && len(out) < limit {
		var first int64
		var data []byte
		if err := rows.Scan(&first, &data); err != nil {
			return nil, err
		}
		chunk = chunk[:0]
		err := decodeChunk(data, first, func(l model.LogLine) bool {
			if l.Seq < before && match(&l) {
				chunk = append(chunk, l)
			}
			return l.Seq < before
		})
		if err != nil {
			return nil, fmt.Errorf("chunk at seq %d: %w", first, err)
		}
		for i := len(chunk) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, chunk[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// LogCount returns how many lines a run's log holds.
func (s *Store) LogCount(ctx context.Context, runID int64) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT log_seq FROM runs WHERE id = ?`, runID).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, fmt.Errorf("storage: run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("storage: log count of run %d: %w", runID, err)
	}
	return n, nil
}
