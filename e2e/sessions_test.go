package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// webClient is a browser-like HTTP client with cookies that does not
// follow redirects.
func webClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// postLogin posts the login form and returns the status.
func (s *server) postLogin(c *http.Client, name, password string, header http.Header) int {
	s.t.Helper()
	form := url.Values{"name": {name}, "password": {password}, "next": {"/"}}
	req, _ := http.NewRequest("POST", s.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestPasswdCommandEndsSessions resets a password with the command line
// while the server runs: the session stops working, its open websocket
// closes within a few seconds, and the database never held its token.
func TestPasswdCommandEndsSessions(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	c := webClient()
	if code := s.postLogin(c, "admin", adminPassword, nil); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	base, _ := url.Parse(s.url)
	var token string
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "baton_session" {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("no session cookie after login")
	}
	for _, p := range []string{"baton.db", "baton.db-wal"} {
		b, err := os.ReadFile(filepath.Join(s.data, p))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("%s holds the live session token in the clear", p)
		}
	}
	d := websocket.Dialer{Jar: c.Jar, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws/events", nil)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer conn.Close()

	res := runBaton(t, dir, "user", "passwd", "admin", "--data", s.data)
	if res.code != 0 || !strings.Contains(res.stdout, "logged out 1 session(s) of admin") {
		t.Fatalf("baton user passwd: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	waitClosed4401(t, "admin's websocket after baton user passwd", conn)

	resp, err := c.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the old session after baton user passwd: %d to %q, want the login form", resp.StatusCode, resp.Header.Get("Location"))
	}
	// API tokens are not sessions: they stay valid.
	s.call("GET", "/api/v1/me", "", http.StatusOK, nil)

	// baton user remove, the same.
	res = runBaton(t, dir, "user", "add", "bob", "--data", s.data)
	bobPassword, ok := strings.CutPrefix(strings.TrimSpace(res.stdout), "password of bob: ")
	if res.code != 0 || !ok {
		t.Fatalf("baton user add bob: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	bob := webClient()
	if code := s.postLogin(bob, "bob", bobPassword, nil); code != http.StatusSeeOther {
		t.Fatalf("login as bob: %d", code)
	}
	d.Jar = bob.Jar
	conn, _, err = d.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws/events", nil)
	if err != nil {
		t.Fatalf("bob's websocket: %v", err)
	}
	defer conn.Close()
	if res := runBaton(t, dir, "user", "remove", "bob", "--data", s.data); res.code != 0 {
		t.Fatalf("baton user remove bob: %s", res.stderr)
	}
	waitClosed4401(t, "bob's websocket after baton user remove", conn)
}

// waitClosed4401 reads a websocket until the server closes it, and fails
// unless that happens within a minute with code 4401 (the session ended).
func waitClosed4401(t *testing.T, what string, conn *websocket.Conn) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4401 {
			t.Fatalf("%s: the websocket ended with %v, want a close with code 4401 (session ended)", what, err)
		}
		t.Logf("%s: closed after %v", what, time.Since(start).Round(time.Millisecond))
		return
	}
}

// serveFails runs baton serve with an environment and expects it to stop
// at once with exit code 2 and a message.
func serveFails(t *testing.T, env []string, want string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, baton, append([]string{"serve", "--addr", freeAddr(t), "--data", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), want) {
		t.Errorf("baton serve %v with %v: %v, want exit 2 and %q:\n%s", args, env, err, want, stderr.String())
	}
}

// TestTrustedProxyFlag starts servers with and without --trusted-proxy and
// sends failed logins at once, each from a different client behind the
// proxy: only a server that trusts the proxy tells those clients apart.
func TestTrustedProxyFlag(t *testing.T) {
	serveFails(t, nil, `--trusted-proxy: "10.0.0.0/33" is neither a CIDR`, "--trusted-proxy", "10.0.0.0/33")
	serveFails(t, []string{"BATON_TRUSTED_PROXY=proxy.internal"}, `BATON_TRUSTED_PROXY (it sets --trusted-proxy; fix or unset it): "proxy.internal" is neither a CIDR`)

	burst := func(s *server) (refused int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 15 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := s.postLogin(webClient(), fmt.Sprintf("nobody%d", i), "wrong password",
					http.Header{"X-Forwarded-For": {fmt.Sprintf("192.0.2.%d", i+1)}})
				mu.Lock()
				defer mu.Unlock()
				if code == http.StatusTooManyRequests {
					refused++
				} else if code != http.StatusUnauthorized {
					t.Errorf("a wrong login: %d", code)
				}
			}()
		}
		wg.Wait()
		return refused
	}
	dir := t.TempDir()
	plain := startServer(t, filepath.Join(dir, "plain"))
	// Ten at once per address; the loopback peer is one address.
	if n := burst(plain); n < 4 {
		t.Errorf("without --trusted-proxy, 15 logins at once from loopback: %d refused, want 5 (X-Forwarded-For ignored)", n)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"flag", []string{"--trusted-proxy", "10.0.0.0/8,127.0.0.1"}, ""},
		{"repeated flag", []string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "127.0.0.0/8"}, ""},
		{"environment", nil, "127.0.0.1/32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("BATON_TRUSTED_PROXY", tc.env)
			}
			s := startServer(t, filepath.Join(t.TempDir(), "data"), tc.args...)
			if n := burst(s); n != 0 {
				t.Errorf("15 logins at once from 15 clients behind a trusted proxy: %d refused, want 0", n)
			}
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(s.log.String(), `msg="login failed" user=nobody0 addr=192.0.2.1 `) {
				if time.Now().After(deadline) {
					t.Fatalf("the server log does not name the client behind the proxy:\n%s", s.log)
				}
				waitABit()
			}
		})
	}
}

// TestBrowserSessionSafety drives Chromium: ?next= tricks never take it
// off the server after login, and a page left open goes to the login form
// within a few seconds of `baton user passwd` on the server's shell.
func TestBrowserSessionSafety(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	step(t, ctx, "open the login form", chromedp.Navigate(s.url+"/login?next="+url.QueryEscape("/\t/evil.example")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	step(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	eventually(t, ctx, "the login led to the dashboard of this server",
		fmt.Sprintf(`location.origin === %q && !!document.querySelector("[data-testid=active-runs]")`, s.url))
	for _, next := range []string{"/\t/evil.example", "//evil.example", `/\evil.example`, "/%09/evil.example",
		"/%5Cevil.example", "https://evil.example/", "javascript:alert(1)", "/\n/evil.example", "/@evil.example"} {
		target := s.url + "/login?next=" + url.QueryEscape(next)
		// A navigation to another host fails here (no network); the
		// check below is what counts.
		nav, cancel := context.WithTimeout(ctx, 15*time.Second)
		chromedp.Run(nav, chromedp.Navigate(target))
		cancel()
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		if err != nil || !strings.HasPrefix(href, s.url+"/") {
			t.Errorf("logged in, next=%q: the browser went to %q (%v)", next, href, err)
		}
	}

	step(t, ctx, "open the dashboard", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
	eventually(t, ctx, "the live websocket is open", `document.body.dataset.socket === "open"`)
	if res := runBaton(t, dir, "user", "passwd", "admin", "--data", s.data); res.code != 0 {
		t.Fatalf("baton user passwd: %s", res.stderr)
	}
	changed := time.Now()
	deadline := changed.Add(40 * time.Second)
	for {
		path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err == nil && path == "/login" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the open page did not go to the login form after the password was reset (at %q, %v)", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the open page went to the login form %v after the reset", time.Since(changed).Round(time.Millisecond))
}
