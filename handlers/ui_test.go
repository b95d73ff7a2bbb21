package handlers

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// browserClient is an HTTP client with a cookie jar that does not follow
// redirects, so tests can see them; it sends the headers a same-origin
// browser form post would.
func (a *apiHarness) browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (a *apiHarness) page(c *http.Client, method, path string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (a *apiHarness) login(c *http.Client) {
	a.t.Helper()
	resp, _ := a.page(c, "POST", "/login", url.Values{"name": {"tester"}, "password": {testPassword}, "next": {"/runs"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs" {
		a.t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// byTestID returns the elements with a data-testid, from parsed HTML.
func byTestID(t *testing.T, doc, id string) []*html.Node {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []*html.Node
	for n := range root.Descendants() {
		for _, at := range n.Attr {
			if at.Key == "data-testid" && at.Val == id {
				out = append(out, n)
			}
		}
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestRoutesNeedLogin walks the route table: every route but the few public
// ones refuses a request without a session or token.
func TestRoutesNeedLogin(t *testing.T) {
	a := newAPI(t)
	publicOK := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /static/{hash}/{file...}": true, "GET /login": true, "POST /login": true,
		"/": true, "/api/": true, "POST /hooks/{trigger}": true, // webhooks check their own signatures
	}
	c := a.browserClient()
	for _, rt := range a.h.routes() {
		if rt.access == agent {
			req, _ := http.NewRequest("GET", a.srv.URL+strings.NewReplacer("{hash}", "x").Replace(strings.TrimPrefix(rt.pattern, "GET ")), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s without an agent token: %d, want 401", rt.pattern, resp.StatusCode)
			}
			continue
		}
		if rt.access == public || rt.access == open {
			if !publicOK[rt.pattern] {
				t.Errorf("route %q is public but not on the list of routes allowed to be", rt.pattern)
			}
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{name}", "hello", "{id}", "1", "{task}", "approve", "{$}", "", "{hash}", "x", "{file...}", "x", "{version}", "1").Replace(path)
		req, _ := http.NewRequest(method, a.srv.URL+path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case strings.HasPrefix(path, "/api/"):
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without a token: %d, want 401", method, path, resp.StatusCode)
			}
		case method == "GET":
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s %s without a session: %d to %q, want a redirect to the login", method, path, resp.StatusCode, resp.Header.Get("Location"))
			}
		default:
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without a session: %d, want 401", method, path, resp.StatusCode)
			}
		}
	}
	// A revoked or made-up token is refused.
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/runs", nil)
	req.Header.Set("Authorization", "Bearer baton_madeup")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("made-up token: %d", resp.StatusCode)
	}
}

func TestLoginLogout(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	resp, body := a.page(c, "GET", "/runs", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fruns" {
		t.Fatalf("anonymous /runs: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = a.page(c, "POST", "/login", url.Values{"name": {"tester"}, "password": {"wrong password"}})
	if resp.StatusCode != http.StatusUnauthorized || len(byTestID(t, body, "login-error")) != 1 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, _ = a.page(c, "POST", "/login", url.Values{"name": {"tester"}, "password": {testPassword}, "next": {"https://evil.example/"}})
	if resp.Header.Get("Location") != "/" {
		t.Errorf("login redirected off-site to %q", resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "baton_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	resp, body = a.page(c, "GET", "/", nil)
	if resp.StatusCode != http.StatusOK || textOf(byTestID(t, body, "user")[0]) != "tester" {
		t.Fatalf("dashboard after login: %d", resp.StatusCode)
	}
	// A form posted from another site is refused (CSRF).
	req, _ := http.NewRequest("POST", a.srv.URL+"/settings/tokens", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := c.Do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", resp.StatusCode)
	}
	a.page(c, "POST", "/logout", url.Values{})
	if resp, _ := a.page(c, "GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

func TestPagesRender(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)

	_, body := a.page(c, "GET", "/compositions", nil)
	if len(byTestID(t, body, "empty")) != 1 {
		t.Errorf("no empty state on the compositions page without compositions")
	}
	_, body = a.page(c, "GET", "/", nil)
	if len(byTestID(t, body, "welcome")) != 1 {
		t.Errorf("no welcome on a fresh dashboard")
	}

	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	_, body = a.page(c, "GET", "/compositions/hello", nil)
	if f := byTestID(t, body, "field-who"); len(f) != 1 || !strings.Contains(textOf(f[0]), "who") {
		t.Fatalf("params form lacks the field who")
	}
	// Start a run from the form: a redirect to the new run's page.
	resp, _ := a.page(c, "POST", "/compositions/hello/runs", url.Values{"who": {"form"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/runs/") {
		t.Fatalf("start from form: %d %q", resp.StatusCode, loc)
	}
	var run runJSON
	deadline := time.Now().Add(10 * time.Second)
	for run.Status != "waiting" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		a.do("GET", "/api/v1"+loc, "", http.StatusOK, &run)
	}
	if run.Params["who"] != "form" || run.Trigger != "tester" {
		t.Fatalf("run from the form = %+v", run)
	}
	resp, body = a.page(c, "GET", loc, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("run page: %d", resp.StatusCode)
	}
	if n := len(byTestID(t, body, "graph-node")); n != 2 {
		t.Errorf("graph has %d nodes, want 2", n)
	}
	if ap := byTestID(t, body, "approval"); len(ap) != 1 || !strings.Contains(textOf(ap[0]), "Ship it?") {
		t.Errorf("approval not shown")
	}
	// Approve from the page (plain form post) and find the decision recorded.
	resp, _ = a.page(c, "POST", loc+"/tasks/approve/approve", url.Values{"comment": {"from the page"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	a.do("GET", "/api/v1"+loc, "", http.StatusOK, &run)
	if a := run.Tasks[1].Approval; a == nil || a.Decision != "approved" || a.By != "tester" || a.Comment != "from the page" {
		t.Errorf("approval = %+v", run.Tasks[1].Approval)
	}
	// Unknown pages and runs get a page that says so with a way back.
	resp, body = a.page(c, "GET", "/runs/999", nil)
	if resp.StatusCode != http.StatusNotFound || len(byTestID(t, body, "error-page")) != 1 {
		t.Errorf("missing run: %d", resp.StatusCode)
	}
	resp, body = a.page(c, "GET", "/no/such/page", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Back to the dashboard") {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}

func TestParamsFormErrors(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	a.do("PUT", "/api/v1/compositions/typed", `name: typed
params:
  n: {type: number, required: true}
  env: {type: string, default: staging, enum: [staging, production]}
  dry: {type: boolean, default: true}
tasks:
  - id: t
    run: "true"
`, http.StatusCreated, nil)
	resp, body := a.page(c, "POST", "/compositions/typed/runs", url.Values{"n": {"lots"}, "env": {"staging"}, "_present_dry": {"1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad params: %d", resp.StatusCode)
	}
	errs := byTestID(t, body, "field-error")
	if len(errs) != 1 || !strings.Contains(textOf(errs[0]), "not a number") {
		t.Fatalf("field errors: %d", len(errs))
	}
	// The value typed is kept so it can be fixed.
	if !strings.Contains(body, `value="lots"`) {
		t.Errorf("typed value lost")
	}
	var runs struct{ Runs []runJSON }
	a.do("GET", "/api/v1/runs", "", http.StatusOK, &runs)
	if len(runs.Runs) != 0 {
		t.Errorf("a run started despite bad params")
	}
	// An unchecked box is false, not the default.
	resp, _ = a.page(c, "POST", "/compositions/typed/runs", url.Values{"n": {"2"}, "_present_dry": {"1"}})
	var run runJSON
	a.do("GET", "/api/v1"+resp.Header.Get("Location"), "", http.StatusOK, &run)
	if run.Params["dry"] != false || run.Params["n"] != 2.0 || run.Params["env"] != "staging" {
		t.Errorf("params = %v", run.Params)
	}
}

func TestTokensPage(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	_, body := a.page(c, "POST", "/settings/tokens", url.Values{"name": {"laptop"}})
	v := byTestID(t, body, "token-value")
	if len(v) != 1 {
		t.Fatal("new token not shown")
	}
	token := textOf(v[0])
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the new token does not work: %v %v", err, resp.StatusCode)
	}
	_, body = a.page(c, "GET", "/settings/tokens", nil)
	if strings.Contains(body, token) {
		t.Errorf("the token is shown again after creation")
	}
}
