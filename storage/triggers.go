package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"baton/model"
)

// RecordEvent stores an event and creates the runs its rules start, in one
// transaction. A delivery id the trigger already received, or a Digest it
// still remembers, is ErrConflict, and then nothing is stored or started.
// An event with a Digest has it remembered until its DigestUntil; digests
// past theirs are deleted on the way.
func (s *Store) RecordEvent(ctx context.Context, ev *model.Event, runs []model.NewRun) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkDigest(ctx, tx, ev); err != nil {
			return err
		}
		for _, nr := range runs {
			if err := insertRun(ctx, tx, nr.Run, nr.Tasks); err != nil {
				return fmt.Errorf("run of %s: %w", nr.Run.Composition, err)
			}
		}
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		return rememberDigest(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("storage: record event of %s: %w", ev.Trigger, err)
	}
	return nil
}

// checkDigest prunes expired digests, then refuses an event whose digest
// its trigger still remembers.
func checkDigest(ctx context.Context, tx *sql.Tx, ev *model.Event) error {
	if ev.Digest == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_digests WHERE expires_at <= ?`, micros(time.Now())); err != nil {
		return fmt.Errorf("prune webhook digests: %w", err)
	}
	var first int64
	err := tx.QueryRowContext(ctx, `SELECT event_id FROM webhook_digests WHERE trigger = ? AND digest = ?`, ev.Trigger, ev.Digest).Scan(&first)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("look up webhook digest: %w", err)
	}
	return fmt.Errorf("the same request was received before as event %d: %w", first, ErrConflict)
}

// rememberDigest keeps an event's digest until its DigestUntil.
func rememberDigest(ctx context.Context, tx *sql.Tx, ev *model.Event) error {
	if ev.Digest == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_digests (trigger, digest, event_id, expires_at) VALUES (?, ?, ?, ?)`,
		ev.Trigger, ev.Digest, ev.ID, micros(ev.DigestUntil))
	if err != nil {
		return fmt.Errorf("remember webhook digest: %w", err)
	}
	return nil
}

// FindDuplicate returns the event that a webhook request repeats: the
// trigger's event with delivery id id (when id is not empty), or the one
// whose digest the trigger still remembers. ErrNotFound means the request
// is new. RecordEvent checks again in its transaction; this lets a caller
// answer a duplicate before doing any work for it.
func (s *Store) FindDuplicate(ctx context.Context, trigger, id, digest string) (int64, error) {
	var ev int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM events WHERE trigger = ? AND delivery_id = ? AND delivery_id != ''
		UNION ALL
		SELECT event_id FROM webhook_digests WHERE trigger = ? AND digest = ? AND digest != '' AND expires_at > ?
		LIMIT 1`, trigger, id, trigger, digest, micros(time.Now())).Scan(&ev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("storage: earlier delivery to %s: %w", trigger, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("storage: earlier delivery to %s: %w", trigger, err)
	}
	return ev, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, ev *model.Event) error {
	for i := range ev.Results {
		if r := ev.Results[i].Run; r != nil {
			ev.Results[i].RunID = r.ID
		}
	}
	payload, err := toJSONAny(ev.Payload)
	if err != nil {
		return err
	}
	headers, err := toJSON(ev.Headers)
	if err != nil {
		return err
	}
	results, err := toJSONAny(ev.Results)
	if err != nil {
		return err
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = time.Now()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (trigger, kind, name, delivery_id, payload, headers, results, replay_of, received_at, test_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.Trigger, ev.Kind, ev.Name, ev.DeliveryID, payload, headers, results, ev.ReplayOf, micros(ev.ReceivedAt), ev.TestBy)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("delivery %s was received before: %w", ev.DeliveryID, ErrConflict)
		}
		return err
	}
	ev.ID, err = res.LastInsertId()
	return err
}

// toJSONAny encodes any value for a TEXT column, nil as JSON null (which
// decodes back into an empty list or map).
func toJSONAny(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

const eventColumns = `id, trigger, kind, name, delivery_id, payload, headers, results, replay_of, received_at, test_by`

func scanEvent(sc scanner) (*model.Event, error) {
	var ev model.Event
	var payload, headers, results string
	var at int64
	if err := sc.Scan(&ev.ID, &ev.Trigger, &ev.Kind, &ev.Name, &ev.DeliveryID, &payload, &headers, &results, &ev.ReplayOf, &at, &ev.TestBy); err != nil {
		return nil, err
	}
	ev.ReceivedAt = fromMicros(at)
	if err := errors.Join(fromJSON(payload, &ev.Payload), fromJSON(headers, &ev.Headers), fromJSON(results, &ev.Results)); err != nil {
		return nil, fmt.Errorf("decode event %d: %w", ev.ID, err)
	}
	return &ev, nil
}

// GetEvent returns one event.
func (s *Store) GetEvent(ctx context.Context, id int64) (*model.Event, error) {
	ev, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: event %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: event %d: %w", id, err)
	}
	return ev, nil
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Trigger  string
	BeforeID int64
	Limit    int // default 50, at most 1000
}

// ListEvents returns events newest first.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]*model.Event, error) {
	q := `SELECT ` + eventColumns + ` FROM events WHERE (? = '' OR trigger = ?) AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.r.QueryContext(ctx, q, f.Trigger, f.Trigger, f.BeforeID, f.BeforeID, min(limit, 1000))
	if err != nil {
		return nil, fmt.Errorf("storage: list events: %w", err)
	}
	defer rows.Close()
	var out []*model.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// LastEvent returns a trigger's newest event, or ErrNotFound.
func (s *Store) LastEvent(ctx context.Context, trigger string) (*model.Event, error) {
	evs, err := s.ListEvents(ctx, EventFilter{Trigger: trigger, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("storage: events of %s: %w", trigger, ErrNotFound)
	}
	return evs[0], nil
}
