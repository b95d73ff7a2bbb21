package handlers

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientFrom is a browser-like client whose connections come from a given
// loopback address (Linux answers the whole of 127.0.0.0/8), so that the
// server sees a different TCP peer for each.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	probe, err := d.Dial("tcp", "127.0.0.1:1")
	if err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skipf("cannot connect from %s on this machine: %v", ip, err)
	}
	if probe != nil {
		probe.Close()
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tryLogin posts the login form and returns the status and body.
func tryLogin(t *testing.T, c *http.Client, base, name, password string, header http.Header) (int, string, http.Header) {
	t.Helper()
	form := url.Values{"name": {name}, "password": {password}, "next": {"/"}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestLoginThrottledAcrossAddresses guesses one user's password from 40
// addresses, 5 guesses each: the user name is locked after a few
// failures, wherever they come from, but not for the address the user
// logged in from before.
func TestLoginThrottledAcrossAddresses(t *testing.T) {
	a := newAPI(t)
	home := clientFrom(t, "127.0.0.9")
	if code, body, _ := tryLogin(t, home, a.srv.URL, "tester", testPassword, nil); code != http.StatusSeeOther {
		t.Fatalf("login from home: %d: %s", code, body)
	}

	var mu sync.Mutex
	checked, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(t, fmt.Sprintf("127.0.0.%d", 10+i))
			for j := range 5 {
				code, body, hdr := tryLogin(t, c, a.srv.URL, "tester", fmt.Sprintf("guess %d-%d", i, j), nil)
				mu.Lock()
				switch code {
				case http.StatusUnauthorized:
					checked++
				case http.StatusTooManyRequests:
					refused++
					if hdr.Get("Retry-After") == "" || !strings.Contains(body, "try again in") {
						t.Errorf("a refused login does not say when to try again: Retry-After %q, body %s", hdr.Get("Retry-After"), body)
					}
				default:
					t.Errorf("guess from 127.0.0.%d: %d", 10+i, code)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("200 guesses from 40 addresses: %d checked, %d refused", checked, refused)
	// The first few failures are free, then every failure doubles the
	// lockout; 30 is far more than the few seconds of this test allow.
	if checked > 30 || refused < 170 {
		t.Fatalf("200 guesses from 40 addresses: %d had their password checked, %d were refused; want at most 30 checked", checked, refused)
	}
	code, body, _ := tryLogin(t, clientFrom(t, "127.0.0.60"), a.srv.URL, "tester", testPassword, nil)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "tester") {
		t.Errorf("the right password from a new address while the name is locked: %d, want 429 naming the user: %s", code, body)
	}
	if code, body, _ := tryLogin(t, home, a.srv.URL, "tester", testPassword, nil); code != http.StatusSeeOther {
		t.Errorf("the user from the address they logged in from before: %d, want a login: %s", code, body)
	}
}

// TestForwardedForTrustedOnly counts login attempts per client address:
// X-Forwarded-For names the client only when the TCP peer is a trusted
// proxy, and the failed logins are logged with that address.
func TestForwardedForTrustedOnly(t *testing.T) {
	a := newAPI(t)
	logs := &lockedBuffer{}
	// The clock stands still: no attempt comes back while the test runs.
	srv := a.serverWith(Config{TrustedProxies: mustPrefixes(t, "127.0.0.1/32"), Logger: logs.logger()}, frozen())
	trusted, untrusted := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")

	// A different user name each time, so that only the address counts.
	attempts := func(c *http.Client, xff func(i int) string) (refusedAt int) {
		for i := range 12 {
			code, _, _ := tryLogin(t, c, srv, fmt.Sprintf("nobody%d", i), "wrong password", http.Header{"X-Forwarded-For": {xff(i)}})
			if code == http.StatusTooManyRequests {
				return i + 1
			}
		}
		return 0
	}
	eachNew := func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }
	if n := attempts(untrusted, eachNew); n != 11 {
		t.Errorf("untrusted peer with a new X-Forwarded-For each time: refused at attempt %d, want 11 (the header ignored)", n)
	}
	if n := attempts(trusted, func(int) string { return "198.51.100.7" }); n != 11 {
		t.Errorf("trusted proxy, one client behind it: refused at attempt %d, want 11", n)
	}
	if n := attempts(trusted, func(i int) string { return fmt.Sprintf("192.0.2.%d", i+1) }); n != 0 {
		t.Errorf("trusted proxy, a different client each time: refused at attempt %d, want never", n)
	}
	// A client that forges the header in front of the proxy does not pick
	// its address: the proxy appends the peer it saw, and that one counts.
	tryLogin(t, trusted, srv, "forger", "wrong password", http.Header{"X-Forwarded-For": {"10.9.9.9, 192.0.2.200"}})
	for _, want := range []string{
		`level=WARN msg="login failed" user=nobody0 addr=127.0.0.2`,
		`level=WARN msg="login failed" user=nobody0 addr=198.51.100.7`,
		`level=WARN msg="login failed" user=forger addr=192.0.2.200`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs.String(), "from a peer not in --trusted-proxy"); n != 1 {
		t.Errorf("the warning about X-Forwarded-For from an untrusted peer was logged %d times, want once", n)
	}
	if strings.Contains(logs.String(), "10.9.9.9") || strings.Contains(logs.String(), "addr=203.0.113.") {
		t.Errorf("the log shows an address the client forged:\n%s", logs)
	}
}

// browserLocation resolves a Location header the way a browser's URL
// parser does where it differs from Go's: it drops tabs and newlines,
// trims control characters and spaces at the ends, and reads a
// backslash as a slash in http(s) URLs.
func browserLocation(base *url.URL, loc string) (*url.URL, error) {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(u), nil
}

// roundTrip sends one request with the client's cookies and returns the
// answer as it came: Go's client would refuse to read some of the
// Location headers under test before a test could look at them.
func roundTrip(t *testing.T, c *http.Client, method, target string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, target, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestLoginRedirectStaysOnSite sends the usual open-redirect tricks as
// ?next= to a logged-in user (GET /login) and with a login (POST): every
// redirect stays on this server.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	a := newAPI(t)
	c := a.loginAs("tester", testPassword)
	base, _ := url.Parse(a.srv.URL)
	for _, tc := range []struct {
		next string
		want string // the exact Location, when the target is kept
	}{
		{"/runs", "/runs"},
		{"/runs?status=failed&composition=a%20b", "/runs?status=failed&composition=a%20b"},
		{"/compositions/hello/edit", "/compositions/hello/edit"},
		{"//evil.example", ""},
		{"///evil.example", ""},
		{"////evil.example/", ""},
		{`/\evil.example`, ""},
		{`\\evil.example`, ""},
		{`\/evil.example`, ""},
		{`/\/evil.example`, ""},
		{"/\t/evil.example", ""},
		{"/\n/evil.example", ""},
		{"/\r\n/evil.example", ""},
		{"\t//evil.example", ""},
		{" //evil.example", ""},
		{"/%09/evil.example", ""},
		{"/%2F/evil.example", ""},
		{"%2F%2Fevil.example", ""},
		{"/%2F%2Fevil.example", ""},
		{"/%5Cevil.example", ""},
		{"/%5C%5Cevil.example", ""},
		{"/%252F%252Fevil.example", ""},
		{"https://evil.example/", ""},
		{"https:evil.example", ""},
		{"http:/evil.example", ""},
		{"HTTPS://evil.example", ""},
		{"javascript:alert(document.domain)", ""},
		{"JavaScript:alert(1)", ""},
		{" javascript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//evil.example@localhost", ""},
		{"/@evil.example", ""},
		{"@evil.example", ""},
		{"//user:pass@evil.example", ""},
		{"evil.example", ""},
		{"/.//evil.example", ""},
		{"/..//evil.example", ""},
		{"/／evil.example", ""},
		{"/\u3000/evil.example", ""},
		{"", "/"},
	} {
		check := func(how, loc string) {
			t.Helper()
			got, err := browserLocation(base, loc)
			if err != nil {
				t.Errorf("%s next=%q: Location %q does not parse: %v", how, tc.next, loc, err)
				return
			}
			if got.Scheme != base.Scheme || got.Host != base.Host || got.User != nil {
				t.Errorf("%s next=%q: Location %q takes the browser to %s", how, tc.next, loc, got)
			}
			if tc.want != "" && loc != tc.want {
				t.Errorf("%s next=%q: Location %q, want %q", how, tc.next, loc, tc.want)
			}
		}
		resp := roundTrip(t, c, "GET", a.srv.URL+"/login?"+url.Values{"next": {tc.next}}.Encode())
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /login next=%q while logged in: %d, want a redirect", tc.next, resp.StatusCode)
			continue
		}
		check("GET", resp.Header.Get("Location"))
	}
	// And through the form itself, with the address of the first report.
	form := url.Values{"name": {"tester"}, "password": {testPassword}, "next": {"/\t/evil.example"}}
	req, _ := http.NewRequest("POST", a.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, err := browserLocation(base, resp.Header.Get("Location")); err != nil || got.Host != base.Host {
		t.Errorf("POST /login next=/<tab>/evil.example: Location %q takes the browser to %v (%v)", resp.Header.Get("Location"), got, err)
	}
}

// TestSafeNext checks the redirect target itself, besides what
// TestLoginRedirectStaysOnSite checks through the server.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/runs", "/runs"},
		{"/runs?status=failed", "/runs?status=failed"},
		{"/compositions/a%2Fb", "/compositions/a%2Fb"},
		{"/runs/ä", "/runs/%C3%A4"},
		{"/", "/"},
		{"", "/"},
		{"runs", "/"},
		{"//evil.example", "/"},
		{`/\evil.example`, "/"},
		{"/\t/evil.example", "/"},
		{"/%2F/evil.example", "/%2F/evil.example"},
		{"/x\x00y", "/"},
		{"/x\x7fy", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%.80q) = %.80q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLoginFormBounded sends a login form far larger than a real one: it
// is refused before it is read in full, and before any password check.
func TestLoginFormBounded(t *testing.T) {
	a := newAPI(t)
	for _, path := range []string{"/login", "/settings/password"} {
		c := a.loginAs("tester", testPassword)
		form := url.Values{"name": {"tester"}, "password": {strings.Repeat("x", 1<<20)}, "current": {strings.Repeat("x", 1<<20)}}
		resp, body := a.page(c, "POST", path, form)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 16 KiB") {
			t.Errorf("POST %s with a 1 MiB field: %d, want 413 saying the limit", path, resp.StatusCode)
		}
	}
}
