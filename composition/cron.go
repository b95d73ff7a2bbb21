package composition

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron is a parsed schedule: when a schedule trigger or a composition's
// schedule fires.
type Cron struct {
	Spec     string // as written: "0 3 * * *", "@daily", "@every 90m"
	Timezone string // IANA name, default UTC
	// CatchUp: after downtime, start one run for the latest time missed.
	CatchUp bool
	// Overlap: start even while a run this schedule started is active.
	Overlap bool

	sched cron.Schedule  // the parsed Spec; nil when not made by NewCron
	loc   *time.Location // the loaded Timezone
}

// MaxNextN bounds how many fire times NextN returns.
const MaxNextN = 1000

// NewCron parses a schedule in a time zone: five fields (minute, hour, day
// of month, month, day of week) such as "0 3 * * 1-5"; a descriptor
// (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly); or
// "@every D" with D a whole number of seconds of at least 1s, such as
// "@every 90m". timezone is an IANA name; "" means UTC. A schedule that
// never fires, such as "0 0 30 2 *", is an error. The zone goes in
// timezone:, never as a CRON_TZ= prefix.
func NewCron(spec, timezone string) (*Cron, error) {
	if timezone == "" {
		timezone = "UTC"
	}
	loc, err := LoadZone(timezone)
	if err != nil {
		return nil, err
	}
	sched, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	c := &Cron{Spec: spec, Timezone: timezone, sched: sched, loc: loc}
	if c.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%s never fires%s", quoteClip(spec), whyNever(sched))
	}
	return c, nil
}

// LoadZone loads an IANA time zone. "Local" is refused: a schedule must not
// depend on how the server's clock is set up.
func LoadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, errors.New(`"Local" depends on the server; name an IANA zone such as Europe/Berlin, or UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %s; name an IANA zone such as Europe/Berlin, America/New_York or UTC", quoteClip(name))
	}
	return loc, nil
}

// parseSpec parses a schedule with robfig/cron's standard parser, after the
// checks it lacks.
func parseSpec(spec string) (cron.Schedule, error) {
	const help = `write 5 fields (minute hour day-of-month month day-of-week) such as "0 3 * * 1-5", or @hourly, @daily, @weekly, @monthly, @yearly, or "@every 90m"`
	s := strings.Join(strings.Fields(spec), " ")
	switch {
	case s == "":
		return nil, errors.New("the schedule is empty; " + help)
	case strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ="):
		return nil, errors.New("give the zone in timezone:, not as a prefix of the schedule")
	case strings.HasPrefix(s, "@every"):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(s, "@every")))
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s is not valid: @every takes a duration such as 90s, 10m or 1h30m", quoteClip(spec))
		case d < time.Second || d%time.Second != 0:
			return nil, fmt.Errorf("%s is not valid: @every takes a whole number of seconds, at least 1s", quoteClip(spec))
		}
		return cron.Every(d), nil
	}
	sched, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid: %v; %s", quoteClip(spec), err, help)
	}
	return sched, nil
}

// whyNever explains a five-field schedule that never fires: its days of
// the month do not occur in its months.
func whyNever(sched cron.Schedule) string {
	s, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return ""
	}
	const star = 1 << 63
	day, month := 0, 0
	for d := 1; d <= 31 && day == 0; d++ {
		if s.Dom&(1<<d) != 0 {
			day = d
		}
	}
	for m := 1; m <= 12 && month == 0; m++ {
		if s.Month&(1<<m) != 0 {
			month = m
		}
	}
	if day == 0 || month == 0 || s.Dom&star != 0 {
		return ""
	}
	return fmt.Sprintf(": there is no %s %d", time.Month(month), day)
}

// Location returns the schedule's time zone; nil for a Cron not made by
// NewCron.
func (c *Cron) Location() *time.Location {
	return c.loc
}

// Next returns the first fire time strictly after after, in the schedule's
// zone, or the zero time when there is none in the next five years (or c
// was not made by NewCron). Fire times fall on whole seconds
// (whole minutes for five-field schedules). "@every D" has no fixed phase:
// its next time is always after+D, rounded down to the second.
//
// Across daylight saving changes a five-field schedule follows the wall
// clock: a time that does not exist that day (02:30 when clocks jump from
// 02:00 to 03:00) is skipped, and one that occurs twice (when clocks go
// back) fires twice.
func (c *Cron) Next(after time.Time) time.Time {
	if c == nil || c.sched == nil {
		return time.Time{}
	}
	t := c.sched.Next(after)
	if t.IsZero() {
		return t
	}
	return t.In(c.loc)
}

// NextN returns up to n fire times after after, in order, for showing what
// a schedule will do; n is capped at MaxNextN.
func (c *Cron) NextN(after time.Time, n int) []time.Time {
	n = min(n, MaxNextN)
	var out []time.Time
	for t := after; len(out) < n; {
		t = c.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// Latest returns the latest fire time t with after < t <= upTo, the one a
// schedule with catch_up starts after downtime, and whether there is one.
// after is usually the last fire time the scheduler handled.
//
// It never walks every tick: for "@every D" the ticks are after+D,
// after+2D, ... and the answer is computed; for five-field schedules it
// binary-searches for the last second s with Next(s) <= upTo (Next only
// grows with its argument), about 30 calls of Next for any downtime, then
// confirms with a few forward steps. robfig/cron looks at most five years
// ahead, so a downtime longer than that finds nothing older.
func (c *Cron) Latest(after, upTo time.Time) (time.Time, bool) {
	if c == nil || c.sched == nil || !upTo.After(after) {
		return time.Time{}, false
	}
	first := c.Next(after)
	if first.IsZero() || first.After(upTo) {
		return time.Time{}, false
	}
	if every, ok := c.sched.(cron.ConstantDelaySchedule); ok {
		k := upTo.Sub(first) / every.Delay
		return first.Add(k * every.Delay), true
	}
	fires := func(t time.Time) bool {
		n := c.Next(t)
		return !n.IsZero() && !n.After(upTo)
	}
	// fires(lo) holds and fires(hi) does not: Next(hi) is past upTo.
	lo, hi := after.Truncate(time.Second), upTo.Truncate(time.Second)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if fires(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	latest := c.Next(lo)
	for range 1000 {
		n := c.Next(latest)
		if n.IsZero() || n.After(upTo) {
			break
		}
		latest = n
	}
	return latest, true
}

// quoteClip quotes s for a message, shortened to 40 characters.
func quoteClip(s string) string {
	return strconv.Quote(truncate(s, 40))
}
