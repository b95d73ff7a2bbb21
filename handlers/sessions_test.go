package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/auth"
)

// sessionToken returns the session cookie a client holds for the test server.
func (a *apiHarness) sessionToken(c *http.Client) string {
	a.t.Helper()
	u, _ := url.Parse(a.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "baton_session" {
			return ck.Value
		}
	}
	a.t.Fatal("the client has no session cookie")
	return ""
}

// loginAs logs a new browser-like client in as name.
func (a *apiHarness) loginAs(name, password string) *http.Client {
	a.t.Helper()
	c := a.browserClient()
	resp, body := a.page(c, "POST", "/login", url.Values{"name": {name}, "password": {password}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		a.t.Fatalf("login as %s: %d to %q: %s", name, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return c
}

// addUser stores a user with a password.
func (a *apiHarness) addUser(name, password string) {
	a.t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.store.CreateUser(context.Background(), name, hash); err != nil {
		a.t.Fatal(err)
	}
}

// loggedInAs says who the client's session belongs to ("" when it has
// none): the dashboard shows the user's name, or the server redirects to
// the login form.
func (a *apiHarness) loggedInAs(c *http.Client) string {
	a.t.Helper()
	resp, body := a.page(c, "GET", "/", nil)
	switch resp.StatusCode {
	case http.StatusOK:
		return textOf(byTestID(a.t.(*testing.T), body, "user")[0])
	case http.StatusSeeOther:
		if !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			a.t.Fatalf("GET / redirected to %q", resp.Header.Get("Location"))
		}
		return ""
	}
	a.t.Fatalf("GET /: %d", resp.StatusCode)
	return ""
}

// dialAs opens a browser websocket with the client's cookies.
func (a *apiHarness) dialAs(c *http.Client, path string) *websocket.Conn {
	a.t.Helper()
	d := websocket.Dialer{Jar: c.Jar, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+path, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		a.t.Fatalf("websocket %s: %v (status %d)", path, err, status)
	}
	a.t.Cleanup(func() { conn.Close() })
	return conn
}

// waitSessionClosed reads from a websocket until the server closes it,
// and fails unless it closes within the deadline with the code that says
// the session ended.
func waitSessionClosed(t *testing.T, what string, conn *websocket.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue // live events; the socket is still open
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != wsSessionEnded {
			t.Errorf("%s: the websocket ended with %v, want a close with code %d (session ended)", what, err, wsSessionEnded)
		}
		return
	}
}

// stillOpen checks that a websocket is open: the server answers a ping.
func stillOpen(t *testing.T, what string, conn *websocket.Conn) {
	t.Helper()
	pong := make(chan struct{}, 1)
	conn.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
	if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
		t.Fatalf("%s: ping: %v", what, err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			select {
			case <-pong:
				return
			default:
			}
			t.Fatalf("%s: the websocket closed: %v", what, err)
		}
		select {
		case <-pong:
			return
		default:
		}
	}
}

// TestSessionTokensNotInDatabase logs in and looks for the session token
// in the bytes of the SQLite file and its write-ahead log: only its hash
// may be there.
func TestSessionTokensNotInDatabase(t *testing.T) {
	a := newAPI(t)
	c := a.loginAs("tester", testPassword)
	token := a.sessionToken(c)
	if a.loggedInAs(c) != "tester" {
		t.Fatal("the session does not work")
	}
	for _, path := range []string{a.store.Path(), a.store.Path() + "-wal"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("%s holds the live session token %s in the clear", path, token)
		}
	}
}

// startWaitingRun starts a run that stays at an approval, so that its
// live websocket stays open.
func (a *apiHarness) startWaitingRun() int64 {
	a.t.Helper()
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	var run runJSON
	a.do("POST", "/api/v1/compositions/hello/runs", `{}`, http.StatusCreated, &run)
	a.waitRun(run.ID, func(r runJSON) bool { return r.Status == "waiting" })
	return run.ID
}

// TestPasswordChangeEndsOtherSessions changes the password in one session:
// the user's other session is refused from then on and its websockets
// close; the session that changed it stays logged in.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	a := newAPI(t)
	id := a.startWaitingRun()
	mine, other := a.loginAs("tester", testPassword), a.loginAs("tester", testPassword)
	otherEvents := a.dialAs(other, "/ws/events")
	otherLive := a.dialAs(other, fmt.Sprintf("/runs/%d/live", id))
	oldToken := a.sessionToken(mine)

	resp, body := a.page(mine, "POST", "/settings/password", url.Values{"current": {testPassword}, "new": {"a new password, long enough"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d: %s", resp.StatusCode, body)
	}
	if who := a.loggedInAs(other); who != "" {
		t.Errorf("the other session still works after the password change (logged in as %q)", who)
	}
	waitSessionClosed(t, "the other session's /ws/events", otherEvents)
	waitSessionClosed(t, "the other session's /runs/{id}/live", otherLive)
	if who := a.loggedInAs(mine); who != "tester" {
		t.Fatalf("the session that changed the password was logged out (%q)", who)
	}
	// It goes on with a new token: a copy of the old one is worth nothing.
	if a.sessionToken(mine) == oldToken {
		t.Error("the session kept its token through the password change")
	}
	stale := a.browserClient()
	u, _ := url.Parse(a.srv.URL)
	stale.Jar.SetCookies(u, []*http.Cookie{{Name: "baton_session", Value: oldToken}})
	if who := a.loggedInAs(stale); who != "" {
		t.Errorf("a copy of the old token of the session that changed the password still works (%q)", who)
	}
	stillOpen(t, "a websocket opened after the change", a.dialAs(mine, "/ws/events"))
	// The new password works, the old one does not.
	a.loginAs("tester", "a new password, long enough")
	if resp, _ := a.page(a.browserClient(), "POST", "/login", url.Values{"name": {"tester"}, "password": {testPassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", resp.StatusCode)
	}
}

// TestRemovedUserSessionsEnd removes a user in the UI: their sessions and
// websockets end, their API tokens stop working, and a user added later
// (who may get the same row id) does not inherit the old session.
func TestRemovedUserSessionsEnd(t *testing.T) {
	a := newAPI(t)
	a.addUser("bob", "bob's password here")
	bob := a.loginAs("bob", "bob's password here")
	bobEvents := a.dialAs(bob, "/ws/events")
	bobToken, hash, prefix := auth.NewToken()
	u, err := a.store.GetUser(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.CreateAPIToken(context.Background(), u.ID, "bob's", hash, prefix); err != nil {
		t.Fatal(err)
	}

	// A script of bob's follows the events with his API token.
	bobScript, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/ws/events",
		http.Header{"Authorization": {"Bearer " + bobToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer bobScript.Close()

	admin := a.loginAs("tester", testPassword)
	if resp, body := a.page(admin, "POST", "/settings/users/bob/remove", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove bob: %d: %s", resp.StatusCode, body)
	}
	waitSessionClosed(t, "bob's /ws/events", bobEvents)
	waitSessionClosed(t, "bob's /ws/events with his API token", bobScript)
	if who := a.loggedInAs(bob); who != "" {
		t.Errorf("bob's session works after bob was removed (as %q)", who)
	}
	a.addUser("carol", "carol's password here")
	if who := a.loggedInAs(bob); who != "" {
		t.Errorf("bob's old session logs in as %q, a user added after bob was removed", who)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+bobToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bob's API token after bob was removed: %d, want 401", resp.StatusCode)
	}
}
