package components

import "time"

// RunRow is one run in a table of runs.
type RunRow struct {
	ID          int64
	Composition string
	Status      string
	Trigger     string
	Error       string
	QueueReason string
	Created     time.Time
	Duration    time.Duration
	Waiting     string // for runs waiting on approvals: which tasks
}

// KV is one entry of a key-value list.
type KV struct {
	Key, Value string
}
