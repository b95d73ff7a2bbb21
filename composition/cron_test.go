package composition

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func mustCron(t *testing.T, spec, zone string) *Cron {
	t.Helper()
	c, err := NewCron(spec, zone)
	if err != nil {
		t.Fatalf("NewCron(%q, %q): %v", spec, zone, err)
	}
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func utcTimes(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339)
	}
	return out
}

// In 2026 Berlin moves from CET (+1) to CEST (+2) on Sunday 29 March at
// 02:00 and back on Sunday 25 October at 03:00.
func TestCronAcrossDST(t *testing.T) {
	tests := []struct {
		name, spec string
		after      string
		n          int
		want       []string
	}{
		{"daily at 3 in spring", "0 3 * * *", "2026-03-27T12:00:00Z", 3,
			[]string{"2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"}},
		{"daily at 3 in autumn", "0 3 * * *", "2026-10-24T12:00:00Z", 3,
			[]string{"2026-10-25T02:00:00Z", "2026-10-26T02:00:00Z", "2026-10-27T02:00:00Z"}},
		{"02:30 is skipped when it does not exist", "30 2 * * *", "2026-03-28T12:00:00Z", 2,
			[]string{"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
		{"02:30 fires twice when it occurs twice", "30 2 * * *", "2026-10-24T12:00:00Z", 3,
			[]string{"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"weekdays", "0 3 * * 1-5", "2026-03-27T12:00:00Z", 2,
			[]string{"2026-03-30T01:00:00Z", "2026-03-31T01:00:00Z"}},
		{"half hours through the gap", "*/30 * * * *", "2026-03-29T00:15:00Z", 3,
			[]string{"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
		{"@daily is local midnight", "@daily", "2026-03-28T12:00:00Z", 2,
			[]string{"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}},
		{"@every counts real time", "@every 90m", "2026-03-29T00:00:00Z", 3,
			[]string{"2026-03-29T01:30:00Z", "2026-03-29T03:00:00Z", "2026-03-29T04:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCron(t, tt.spec, "Europe/Berlin")
			got := c.NextN(utc(tt.after), tt.n)
			if strings.Join(utcTimes(got), " ") != strings.Join(tt.want, " ") {
				t.Errorf("NextN = %v, want %v", utcTimes(got), tt.want)
			}
			if next := c.Next(utc(tt.after)); !next.Equal(got[0]) || next.Location().String() != "Europe/Berlin" {
				t.Errorf("Next = %v, want %v in Europe/Berlin", next, got[0])
			}
		})
	}
}

func TestCronUTCDefault(t *testing.T) {
	c := mustCron(t, "0 3 * * *", "")
	if c.Timezone != "UTC" {
		t.Errorf("timezone = %q", c.Timezone)
	}
	if got := c.Next(utc("2026-03-28T12:00:00Z")); !got.Equal(utc("2026-03-29T03:00:00Z")) {
		t.Errorf("Next = %v", got)
	}
}

func TestCronEvery(t *testing.T) {
	c := mustCron(t, "@every 90s", "UTC")
	after := time.Date(2026, 1, 1, 0, 0, 0, 500, time.UTC)
	got := c.NextN(after, 3)
	want := []string{"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z", "2026-01-01T00:04:30Z"}
	if strings.Join(utcTimes(got), " ") != strings.Join(want, " ") {
		t.Errorf("NextN = %v, want %v", utcTimes(got), want)
	}
}

func TestNewCronErrors(t *testing.T) {
	tests := []struct{ spec, zone, want string }{
		{"0 0 30 2 *", "UTC", "never fires: there is no February 30"},
		{"0 0 31 4,6,9,11 *", "UTC", "never fires: there is no April 31"},
		{"0 3 * *", "UTC", "expected exactly 5 fields"},
		{"0 0 3 * * *", "UTC", "expected exactly 5 fields"},
		{"61 * * * *", "UTC", "is not valid"},
		{"@fortnightly", "UTC", "is not valid"},
		{"@every 0s", "UTC", "at least 1s"},
		{"@every soon", "UTC", "@every takes a duration"},
		{"", "UTC", "the schedule is empty"},
		{"TZ=UTC 0 3 * * *", "UTC", "give the zone in timezone:"},
		{"CRON_TZ=Europe/Berlin", "UTC", "give the zone in timezone:"},
		{"@daily", "Europe/Berlim", `unknown time zone "Europe/Berlim"`},
		{"@daily", "Local", "depends on the server"},
		{"@daily", "../../etc/passwd", "unknown time zone"},
	}
	for _, tt := range tests {
		_, err := NewCron(tt.spec, tt.zone)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewCron(%q, %q) = %v, want %q", tt.spec, tt.zone, err, tt.want)
		}
	}
	// Leap days are possible, so not an error.
	mustCron(t, "0 0 29 2 *", "UTC")
}

func TestCronLatest(t *testing.T) {
	tests := []struct {
		name, spec, zone string
		after, upTo      string
		want             string // "" for none
	}{
		{"every minute over 30 days", "@every 1m", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T00:00:30Z", "2026-01-31T00:00:00Z"},
		{"five-field every minute over 30 days", "* * * * *", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-01-31T00:00:30Z", "2026-01-31T00:00:00Z"},
		{"weekdays at 3 over a week", "0 3 * * 1-5", "Europe/Berlin", "2026-03-20T00:00:00Z", "2026-03-29T12:00:00Z", "2026-03-27T02:00:00Z"},
		{"exactly at upTo", "0 3 * * *", "UTC", "2026-03-01T00:00:00Z", "2026-03-02T03:00:00Z", "2026-03-02T03:00:00Z"},
		{"not at after", "0 3 * * *", "UTC", "2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z", ""},
		{"none yet", "0 3 * * *", "UTC", "2026-03-02T04:00:00Z", "2026-03-03T02:59:59Z", ""},
		{"upTo before after", "* * * * *", "UTC", "2026-03-02T04:00:00Z", "2026-03-01T04:00:00Z", ""},
		{"leap day over four years", "0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", "2028-12-31T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"autumn's second 02:30", "30 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-25T01:45:00Z", "2026-10-25T01:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCron(t, tt.spec, tt.zone)
			start := time.Now()
			got, ok := c.Latest(utc(tt.after), utc(tt.upTo))
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("Latest took %v", d)
			}
			if tt.want == "" {
				if ok {
					t.Errorf("Latest = %v, want none", got)
				}
				return
			}
			if !ok || !got.Equal(utc(tt.want)) {
				t.Errorf("Latest = %v, %v; want %s", got.UTC(), ok, tt.want)
			}
		})
	}
}

// TestCronLatestMatchesWalking compares Latest with walking Next tick by
// tick over random windows, DST changes included.
func TestCronLatestMatchesWalking(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := utc("2026-03-20T00:00:00Z")
	for _, spec := range []string{"*/7 * * * *", "30 2 * * *", "0 */5 * * 0,6", "15 1-3 * 3,10 *", "@every 37m", "@hourly"} {
		c := mustCron(t, spec, "Europe/Berlin")
		for range 200 {
			after := base.Add(time.Duration(rng.Int64N(int64(240 * 24 * time.Hour)))).Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			upTo := after.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
			var want time.Time
			for n := c.Next(after); !n.IsZero() && !n.After(upTo); n = c.Next(n) {
				want = n
			}
			got, ok := c.Latest(after, upTo)
			if ok != !want.IsZero() || ok && !got.Equal(want) {
				t.Fatalf("%s: Latest(%v, %v) = %v, %v; walking gives %v", spec, after, upTo, got, ok, want)
			}
		}
	}
}

func TestCronNextNCap(t *testing.T) {
	c := mustCron(t, "@every 1s", "UTC")
	if got := len(c.NextN(time.Now(), 5000)); got != MaxNextN {
		t.Errorf("NextN(5000) gave %d", got)
	}
	if got := c.NextN(time.Now(), 0); len(got) != 0 {
		t.Errorf("NextN(0) = %v", got)
	}
	var unparsed Cron
	if !unparsed.Next(time.Now()).IsZero() || unparsed.NextN(time.Now(), 3) != nil {
		t.Error("a Cron not made by NewCron fires")
	}
	if _, ok := unparsed.Latest(time.Time{}, time.Now()); ok {
		t.Error("a Cron not made by NewCron has a latest time")
	}
}
