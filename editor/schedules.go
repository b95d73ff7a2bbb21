package editor

import (
	"fmt"
	"slices"
	"strings"

	"baton/composition"
)

// ScheduleEdit is a schedule as the form holds it: every key as text.
type ScheduleEdit struct {
	Cron     string
	Timezone string // empty means UTC
	Params   string // name=value lines
	CatchUp  bool
	Overlap  bool
}

// ScheduleForm returns a schedule as the form text SetSchedule reads.
func ScheduleForm(s composition.Schedule) ScheduleEdit {
	return ScheduleEdit{Cron: s.Cron, Timezone: s.Timezone, Params: kvText(s.Params), CatchUp: s.CatchUp, Overlap: s.Overlap}
}

// SetSchedule replaces schedule i (from 0), or adds a schedule when i is
// the number of schedules. Params are name=value lines; a value for a
// number, boolean or list param is read in that type when it fits, so that
// `days=30` is the number 30. The cron and time zone are checked with the
// rest of the composition (Problems), not here.
func (d *Doc) SetSchedule(i int, s ScheduleEdit) error {
	s.Params = formLines(s.Params)
	return d.edit(func(c *composition.Composition) error {
		if i < 0 || i > len(c.Schedules) {
			return fmt.Errorf("there is no schedule %d; the composition has %d", i+1, len(c.Schedules))
		}
		cron := strings.TrimSpace(s.Cron)
		if cron == "" {
			return fmt.Errorf("schedule %d: the cron is empty; write one such as 0 3 * * * (5 fields), @daily or @every 90m", i+1)
		}
		kv, err := parseKV(s.Params, "params")
		if err != nil {
			return fmt.Errorf("schedule %d: %w", i+1, err)
		}
		out := composition.Schedule{Cron: cron, Timezone: strings.TrimSpace(s.Timezone), CatchUp: s.CatchUp, Overlap: s.Overlap}
		if kv != nil {
			out.Params = map[string]any{}
			for k, v := range kv {
				out.Params[k] = typedParam(c, k, v)
			}
		}
		if i == len(c.Schedules) {
			c.Schedules = append(c.Schedules, out)
		} else {
			c.Schedules[i] = out
		}
		return nil
	})
}

// typedParam reads a schedule's param value in the type of the
// composition's param, when it has that param and the value fits.
func typedParam(c *composition.Composition, name, value string) any {
	p := c.Param(name)
	if p == nil || p.Type == composition.TypeString || p.Type == "" {
		return value
	}
	v, err := (&composition.FieldSpec{Type: p.Type}).Coerce(value)
	if err != nil {
		return value // Problems says what does not fit
	}
	return v
}

// RemoveSchedule removes schedule i (from 0).
func (d *Doc) RemoveSchedule(i int) error {
	return d.edit(func(c *composition.Composition) error {
		if i < 0 || i >= len(c.Schedules) {
			return fmt.Errorf("there is no schedule %d; the composition has %d", i+1, len(c.Schedules))
		}
		c.Schedules = slices.Delete(c.Schedules, i, i+1)
		return nil
	})
}
