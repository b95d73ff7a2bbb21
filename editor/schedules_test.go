package editor

import (
	"strings"
	"testing"
)

func TestSchedules(t *testing.T) {
	src := "name: nightly\nparams:\n  days: {type: number, default: 7}\n  tag: {type: string, default: x}\ntasks:\n  - id: clean\n    run: echo clean\n"
	d := mustOpen(t, src)
	if err := d.SetSchedule(0, ScheduleEdit{Cron: "0 3 * * *", Timezone: "Europe/Berlin", Params: "days=30\r\ntag=7", CatchUp: true}); err != nil {
		t.Fatal(err)
	}
	c := d.Composition()
	if len(c.Schedules) != 1 || c.Schedules[0].Params["days"] != float64(30) || c.Schedules[0].Params["tag"] != "7" || !c.Schedules[0].CatchUp {
		t.Fatalf("schedules = %+v\n%s", c.Schedules, d.Source())
	}
	if len(d.Problems()) != 0 {
		t.Errorf("problems: %v", d.Problems())
	}
	// Shown and posted back unchanged, it stays the same.
	before := string(d.Source())
	if err := d.SetSchedule(0, ScheduleForm(c.Schedules[0])); err != nil || string(d.Source()) != before {
		t.Errorf("an unchanged schedule changed the YAML (%v):\n%s", err, d.Source())
	}
	// A cron that never fires is a problem of the composition, on its key.
	if err := d.SetSchedule(1, ScheduleEdit{Cron: "0 0 30 2 *"}); err != nil {
		t.Fatal(err)
	}
	if p := d.Problems(); len(p) != 1 || !strings.Contains(p[0].Message, "never fires") {
		t.Errorf("problems = %v", p)
	}
	for _, bad := range []struct {
		i int
		s ScheduleEdit
	}{{5, ScheduleEdit{Cron: "@daily"}}, {0, ScheduleEdit{Cron: " "}}, {0, ScheduleEdit{Cron: "@daily", Params: "days"}}} {
		if err := d.SetSchedule(bad.i, bad.s); err == nil {
			t.Errorf("SetSchedule(%d, %+v) was accepted", bad.i, bad.s)
		}
	}
	if err := d.RemoveSchedule(1); err != nil || len(d.Composition().Schedules) != 1 {
		t.Errorf("remove: %v", err)
	}
	if err := d.RemoveSchedule(3); err == nil {
		t.Error("removing a missing schedule was accepted")
	}
}
