package engine

import (
	"sync"

	"baton/model"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of events the bus carries.
const (
	EventRun  EventKind = "run"  // a run was created or changed status
	EventTask EventKind = "task" // a task of a run changed
	EventLog  EventKind = "log"  // lines were stored in a run's log
)

// Event is one thing that happened, published after it was committed.
// Payloads are copies or shared read-only slices: subscribers must not
// modify them.
type Event struct {
	Kind        EventKind
	RunID       int64
	Composition string
	Run         *model.Run      // EventRun
	Task        *model.TaskRun  // EventTask
	Lines       []model.LogLine // EventLog
}

// Bus fans events out to subscribers (browser tabs, the CLI, agents'
// watchers). Publishing never blocks: a subscriber whose buffer is full is
// dropped, its channel closed, and it must resubscribe and reload what it
// shows from storage.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until it is dropped or cancelled.
type Subscription struct {
	C      <-chan Event
	c      chan Event
	filter func(*Event) bool
	bus    *Bus
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: map[*Subscription]struct{}{}}
}

// Subscribe returns a subscription that receives the events filter accepts
// (all when filter is nil), buffering up to buf of them.
func (b *Bus) Subscribe(buf int, filter func(*Event) bool) *Subscription {
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, filter: filter, bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Cancel ends the subscription and closes C. It is safe to call twice, and
// after the bus dropped the subscription.
func (s *Subscription) Cancel() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// Publish delivers ev to every interested subscriber without blocking.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.filter != nil && !s.filter(&ev) {
			continue
		}
		select {
		case s.c <- ev:
		default:
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Len returns the number of live subscriptions.
func (b *Bus) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
