package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"baton/model"
)

// BenchmarkTriggerPages times the trigger pages and the editor's check
// (sent as you type) for a trigger with a literal secret, 50 rules, 50
// versions and 1,000 events. Target: each under 50 ms.
func BenchmarkTriggerPages(b *testing.B) {
	a := newAPI(b)
	a.do("PUT", "/api/v1/compositions/greet", greetYAML, http.StatusCreated, nil)
	var src strings.Builder
	src.WriteString("name: gh\nkind: github\nsecret: bench-secret-0123456789\nrules:\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&src, "  - name: rule %d\n    when: 'event == \"push\" && payload.ref == \"refs/heads/b%d\"'\n    run: {composition: greet, params: {who: \"${{ payload.pusher.name }}\"}}\n", i, i)
	}
	for v := 0; v < 50; v++ {
		a.do("PUT", "/api/v1/triggers/gh", src.String()+fmt.Sprintf("# version %d\n", v), map[bool]int{true: http.StatusCreated, false: http.StatusOK}[v == 0], nil)
	}
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		ev := &model.Event{Trigger: "gh", Kind: "github", Name: "push", Payload: map[string]any{"ref": "refs/heads/main"},
			Results: []model.RuleResult{{Rule: "rule 0"}}}
		if err := a.store.RecordEvent(ctx, ev, nil); err != nil {
			b.Fatal(err)
		}
	}
	c := a.browserClient()
	a.login(c)
	_, edit := a.page(c, "GET", "/triggers/gh/edit", nil)
	text := textarea(b, edit, "trigger-yaml")
	check := url.Values{"orig": {"gh"}, "yaml": {text}}.Encode()
	type req struct{ method, path, body string }
	for _, r := range []req{{"GET", "/triggers", ""}, {"GET", "/triggers/gh", ""}, {"GET", "/triggers/gh/edit", ""},
		{"POST", "/trigger-editor/check", check}, {"GET", "/triggers/gh/history", ""}, {"GET", "/api/v1/triggers/gh", ""}} {
		b.Run(r.method+" "+r.path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				hr, _ := http.NewRequest(r.method, a.srv.URL+r.path, strings.NewReader(r.body))
				hr.Header.Set("Authorization", "Bearer "+a.token)
				if r.method == "POST" {
					hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					hr.Header.Set("Sec-Fetch-Site", "same-origin")
					hr.Header.Set("HX-Request", "true")
				}
				resp, err := c.Do(hr)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s %s: %v %v", r.method, r.path, err, resp.StatusCode)
				}
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}
