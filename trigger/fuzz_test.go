package trigger

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to Parse: nothing may panic, every
// problem has a message, and what parses cleanly can be used.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/triggers/*.yaml", "testdata/dir/*.y*ml"} {
		names, _ := filepath.Glob(pattern)
		for _, n := range names {
			if src, err := os.ReadFile(n); err == nil {
				f.Add(src)
			}
		}
	}
	for _, s := range []string{
		"",
		"name: n\nkind: schedule\nschedule: \"CRON_TZ=Europe/Berlin\"\nrun: {composition: c}\n",
		"name: n\nkind: schedule\nschedule: \"0 0 30 2 *\"\ntimezone: Local\nrun: {composition: c}\n",
		"name: n\nkind: schedule\nschedule: \"@every 1h\"\nrules: [{when: '${{ x }}', run: {composition: c}}]\n",
		"name: g\nkind: generic\nsecret: s\nauth: bearer\nrate: {events: 1, per: 1s, burst: 1}\nmax_body: 25MiB\nrules: [{run: {composition: c, params: {a: \"${{ {'x': {'y': 1}} }}\"}}}]\n",
		"a: &a [*a]\n",
		"<<: {name: x, kind: api}\nrules: [{run: {composition: c}}]\n",
		"name: x\nkind: api\nrules:\n- run: {composition: c, params: {v: !!str 5, n: .nan, m: 0x1F, t: !custom x}}\n",
		"name: x\nkind: github\nsecret_env: X\n---\nname: y\n",
	} {
		f.Add([]byte(s))
	}
	getenv := func(name string) (string, bool) { return "value-of-" + name, name != "UNSET" }
	now := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src []byte) {
		tr, probs := Parse("fuzz.yaml", src, getenv)
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("problem without a message: %#v", p)
			}
		}
		if tr == nil {
			if len(probs) == 0 {
				t.Fatal("nil trigger without a problem")
			}
			return
		}
		if tr.Cron != nil {
			_ = tr.Cron.NextN(now, 3)
			_, _ = tr.Cron.Latest(now, now.Add(48*time.Hour))
		}
		if len(probs) > 0 {
			return
		}
		if tr.Name == "" || !tr.Kind.valid() || len(tr.Rules) == 0 {
			t.Fatalf("a trigger without problems lacks something: %#v", tr)
		}
		if tr.Kind.Webhook() && tr.Secret == "" {
			t.Fatal("a webhook without problems has no secret")
		}
		if tr.Kind == Schedule && (tr.Cron == nil || tr.Cron.Next(now).IsZero()) {
			t.Fatal("a schedule without problems never fires")
		}
	})
}
