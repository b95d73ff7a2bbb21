package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"baton/composition"
	"baton/model"
	"baton/trigger"
)

// ErrDuplicate says a trigger received a delivery id it had received
// before, or the same webhook request (body and signature) within its
// replay window; nothing was started again.
var ErrDuplicate = errors.New("this delivery was received before; nothing was started again")

// maxRuleChain bounds rules on run.finished that start runs whose end
// starts more runs, so that a rule that restarts its own composition ends.
const maxRuleChain = 10

// triggers is the set of active triggers.
type triggers struct {
	mu       sync.RWMutex
	byName   map[string]*triggerState
	files    []*trigger.Trigger            // from trigger files and the API
	owned    map[string][]*trigger.Trigger // derived from compositions' schedules, by composition
	problems []TriggerProblem              // stored triggers that are not active
	changed  chan struct{}                 // wakes the schedule loop when the set changes
}

// triggerState is one active trigger with its limiter and counters.
type triggerState struct {
	t        *trigger.Trigger
	limiter  *rate.Limiter
	accepted atomic.Int64
	rejected atomic.Int64 // bad signatures, wrong tokens
	limited  atomic.Int64 // over the rate
}

// TriggerInfo is a trigger as pages and the API show it.
type TriggerInfo struct {
	*trigger.Trigger
	Accepted, Rejected, Limited int64
	Next                        []time.Time // schedules: the next fire times
}

func newTriggers() *triggers {
	return &triggers{byName: map[string]*triggerState{}, owned: map[string][]*trigger.Trigger{}, changed: make(chan struct{}, 1)}
}

// SetTriggers replaces the active triggers of trigger files and the API.
// Counters of triggers that stay are kept.
func (e *Engine) SetTriggers(ts []*trigger.Trigger) {
	e.trig.mu.Lock()
	e.trig.files = ts
	e.activateLocked()
	e.trig.mu.Unlock()
	e.triggersChanged()
}

// activateLocked makes the triggers of files and of compositions' schedules
// the active set, keeping the limiters and counters of those that stay.
func (e *Engine) activateLocked() {
	all := slices.Clone(e.trig.files)
	for _, ts := range e.trig.owned {
		all = append(all, ts...)
	}
	next := make(map[string]*triggerState, len(all))
	for _, t := range all {
		st := e.trig.byName[t.Name]
		if st == nil {
			st = &triggerState{}
		}
		burst := max(t.Rate.Burst, 1)
		per := t.Rate.Per
		if per <= 0 || t.Rate.Events <= 0 {
			per, t.Rate.Events = time.Minute, 60
		}
		st.t = t
		st.limiter = rate.NewLimiter(rate.Every(per/time.Duration(t.Rate.Events)), burst)
		next[t.Name] = st
	}
	e.trig.byName = next
}

// triggersChanged wakes the schedule loop.
func (e *Engine) triggersChanged() {
	select {
	case e.trig.changed <- struct{}{}:
	default:
	}
}

// ScheduleName is the name of the schedule trigger the server derives from
// schedule i (from 0) of a composition: "nightly:schedule-1".
func ScheduleName(composition string, i int) string {
	return composition + ":schedule-" + strconv.Itoa(i+1)
}

// setSchedules makes a composition's schedules active, replacing those of
// its earlier version; nil c removes them (a deleted composition). The
// composition has been validated, so its crons parse.
func (e *Engine) setSchedules(name string, c *composition.Composition) {
	var ts []*trigger.Trigger
	if c != nil {
		for i, s := range c.Schedules {
			cr, err := composition.NewCron(s.Cron, s.Timezone)
			if err != nil {
				e.log.Error("composition schedule not active", "composition", name, "schedule", i+1, "err", err)
				continue
			}
			cr.CatchUp, cr.Overlap = s.CatchUp, s.Overlap
			ts = append(ts, &trigger.Trigger{
				Name:        ScheduleName(name, i),
				Kind:        trigger.Schedule,
				Description: fmt.Sprintf("Schedule %d of composition %s, declared in its `schedules:`.", i+1, name),
				Cron:        cr,
				Rules:       []trigger.Rule{{Name: "schedule", Run: trigger.RunSpec{Composition: name, Params: s.Params}}},
				Owner:       name,
			})
		}
	}
	e.trig.mu.Lock()
	if len(ts) == 0 && len(e.trig.owned[name]) == 0 {
		e.trig.mu.Unlock()
		return
	}
	if len(ts) == 0 {
		delete(e.trig.owned, name)
	} else {
		e.trig.owned[name] = ts
	}
	e.activateLocked()
	e.trig.mu.Unlock()
	e.triggersChanged()
}

// Trigger returns an active trigger.
func (e *Engine) Trigger(name string) (*trigger.Trigger, bool) {
	e.trig.mu.RLock()
	defer e.trig.mu.RUnlock()
	st := e.trig.byName[name]
	if st == nil {
		return nil, false
	}
	return st.t, true
}

// Triggers lists the active triggers with their counters and, for
// schedules, the next fire times.
func (e *Engine) Triggers() []TriggerInfo {
	e.trig.mu.RLock()
	defer e.trig.mu.RUnlock()
	now := time.Now()
	out := make([]TriggerInfo, 0, len(e.trig.byName))
	for _, st := range e.trig.byName {
		info := TriggerInfo{Trigger: st.t, Accepted: st.accepted.Load(), Rejected: st.rejected.Load(), Limited: st.limited.Load()}
		if st.t.Cron != nil {
			info.Next = st.t.Cron.NextN(now, 3)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AllowEvent takes one event from a trigger's rate; false means over the
// limit (counted).
func (e *Engine) AllowEvent(name string) bool {
	e.trig.mu.RLock()
	st := e.trig.byName[name]
	e.trig.mu.RUnlock()
	if st == nil {
		return false
	}
	if !st.limiter.Allow() {
		st.limited.Add(1)
		return false
	}
	return true
}

// RejectedEvent counts a request refused for its signature or token.
func (e *Engine) RejectedEvent(name string) {
	e.trig.mu.RLock()
	st := e.trig.byName[name]
	e.trig.mu.RUnlock()
	if st != nil {
		st.rejected.Add(1)
	}
}

// Deliver hands an event to a trigger: every rule is judged, the runs the
// matching ones start are created, and the event is stored with what each
// rule decided, all in one transaction. A rule whose composition is
// missing or whose params do not fit is recorded with its error, never
// dropped. A delivery id received before, or a Delivery.Digest the trigger
// still remembers, is ErrDuplicate.
func (e *Engine) Deliver(ctx context.Context, name string, d *trigger.Delivery, replayOf int64) (*model.Event, error) {
	e.trig.mu.RLock()
	st := e.trig.byName[name]
	e.trig.mu.RUnlock()
	if st == nil {
		return nil, &NotFoundError{What: "trigger", Name: name}
	}
	ev, runs := e.judge(ctx, st.t, d, "")
	ev.ReplayOf = replayOf
	if err := e.store.RecordEvent(ctx, ev, runs); err != nil {
		if errors.Is(err, model.ErrConflict) {
			return nil, ErrDuplicate
		}
		return nil, err
	}
	st.accepted.Add(1)
	for _, nr := range runs {
		e.enqueue(nr.Run)
	}
	return ev, nil
}

// judge applies a trigger's rules to an event and prepares the runs they
// start; cause ends the trigger text of those runs (" on run 12").
func (e *Engine) judge(ctx context.Context, t *trigger.Trigger, d *trigger.Delivery, cause string) (*model.Event, []model.NewRun) {
	env := map[string]any{"event": d.Event, "payload": d.Payload, "headers": d.Headers, "trigger": t.Name, "delivery": d.ID}
	ev := &model.Event{Trigger: t.Name, Kind: string(t.Kind), Name: d.Event, DeliveryID: d.ID,
		Payload: trigger.Redact(d.Payload, t.Secret), ReceivedAt: time.Now()}
	if d.Headers != nil { // the sender chose their values, as it chose the payload
		ev.Headers = trigger.Redact(d.Headers, t.Secret).(map[string]string)
	}
	if d.Digest != "" {
		ev.Digest, ev.DigestUntil = d.Digest, ev.ReceivedAt.Add(t.DigestWindow())
	}
	var runs []model.NewRun
	for i, rule := range t.Rules {
		res := model.RuleResult{Rule: rule.Name}
		if res.Rule == "" {
			res.Rule = fmt.Sprintf("rule %d", i+1)
		}
		matched := true
		if rule.When != "" {
			ok, err := composition.EvalBool(rule.When, env)
			if err != nil {
				res.Error = "when: " + err.Error()
				ev.Results = append(ev.Results, res)
				continue
			}
			matched = ok
		}
		res.Matched = matched
		if !matched {
			ev.Results = append(ev.Results, res)
			continue
		}
		params, err := composition.Resolve(anyMap(rule.Run.Params), env)
		if err != nil {
			res.Error = "params: " + err.Error()
			ev.Results = append(ev.Results, res)
			continue
		}
		p, _ := params.(map[string]any)
		nr, err := e.prepare(ctx, RunRequest{Composition: rule.Run.Composition, Params: p,
			Trigger: fmt.Sprintf("trigger %s (%s)%s", t.Name, res.Rule, cause)})
		if err != nil {
			res.Error = err.Error()
			ev.Results = append(ev.Results, res)
			continue
		}
		res.Run = nr.Run
		runs = append(runs, nr)
		ev.Results = append(ev.Results, res)
	}
	return ev, runs
}

// Replay delivers a stored event again, as a new event that points at it:
// the rules are judged afresh (they may have changed).
func (e *Engine) Replay(ctx context.Context, id int64) (*model.Event, error) {
	old, err := e.store.GetEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, ok := e.Trigger(old.Trigger); !ok {
		return nil, &StateError{Msg: fmt.Sprintf("event %d came to trigger %s, which no longer exists", id, old.Trigger)}
	}
	d := &trigger.Delivery{Event: old.Name, Payload: old.Payload, Headers: old.Headers}
	return e.Deliver(ctx, old.Trigger, d, id)
}

// runFinished judges the rules of `runs` triggers on a run's end. The runs
// they start and the events are created with the run's end.
func (r *runner) runFinished() ([]model.NewRun, []*model.Event) {
	e := r.e
	e.trig.mu.RLock()
	var ts []*trigger.Trigger
	for _, st := range e.trig.byName {
		if st.t.Kind == trigger.Runs {
			ts = append(ts, st.t)
		}
	}
	e.trig.mu.RUnlock()
	if len(ts) == 0 {
		return nil, nil
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	d := finishedDelivery(r.run)
	deep := r.ruleChainDepth() >= maxRuleChain
	var follow []model.NewRun
	var events []*model.Event
	for _, t := range ts {
		ev, runs := e.judge(r.ctx, t, d, fmt.Sprintf(" on run %d", r.run.ID))
		if len(runs) == 0 && !anyMatched(ev) {
			continue // an event no rule cared about is not worth keeping
		}
		if deep && len(runs) > 0 {
			for i := range ev.Results {
				if ev.Results[i].Run != nil {
					ev.Results[i].Run = nil
					ev.Results[i].Error = fmt.Sprintf("not started: rules on run.finished have already chained %d runs; does a rule start its own composition?", maxRuleChain)
				}
			}
			runs = nil
		}
		follow = append(follow, runs...)
		events = append(events, ev)
	}
	return follow, events
}

// finishedDelivery is the run.finished event of a run that has ended: its
// payload is the run.
func finishedDelivery(run *model.Run) *trigger.Delivery {
	payload := map[string]any{"id": run.ID, "composition": run.Composition, "status": string(run.Status),
		"params": run.Params, "outputs": run.Outputs, "error": run.Error, "trigger": run.Trigger}
	return &trigger.Delivery{Event: "run.finished", ID: fmt.Sprintf("run-%d", run.ID), Payload: jsonish(payload)}
}

func anyMatched(ev *model.Event) bool {
	for _, r := range ev.Results {
		if r.Matched || r.Error != "" {
			return true
		}
	}
	return false
}

// ruleChainDepth counts the runs before this one that were started by
// rules on run.finished, each by the end of the one before.
func (r *runner) ruleChainDepth() int {
	depth, tr := 0, r.run.Trigger
	for depth < maxRuleChain {
		_, after, ok := strings.Cut(tr, ") on run ")
		if !ok {
			break
		}
		id, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			break
		}
		prev, err := r.e.store.GetRun(r.ctx, id)
		if err != nil {
			break
		}
		depth++
		tr = prev.Trigger
	}
	return depth
}

// jsonish turns a payload into the plain JSON types expressions expect.
func jsonish(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case int64:
			out[k] = float64(x)
		case map[string]any:
			out[k] = jsonish(x)
		default:
			out[k] = v
		}
	}
	return out
}
