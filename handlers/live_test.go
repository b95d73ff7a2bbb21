package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestLiveErrorPaths: the run page's websocket answers a bad or unknown
// run with an error page or JSON, for a logged-in browser and for an API
// token, upgrading or not; it used to panic looking for the session that
// websocket routes do not load.
func TestLiveErrorPaths(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	tests := []struct {
		path string
		want int
	}{
		{"/runs/99999/live", http.StatusNotFound},
		{"/runs/abc/live", http.StatusBadRequest},
		{"/runs/1/live?after=x", http.StatusBadRequest},
	}
	for _, tt := range tests {
		for _, how := range []string{"session", "token"} {
			for _, upgrade := range []bool{false, true} {
				req, _ := http.NewRequest("GET", a.srv.URL+tt.path, nil)
				client := c
				if how == "token" {
					client = http.DefaultClient
					req.Header.Set("Authorization", "Bearer "+a.token)
				}
				if upgrade {
					req.Header.Set("Connection", "Upgrade")
					req.Header.Set("Upgrade", "websocket")
					req.Header.Set("Sec-WebSocket-Version", "13")
					req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s (%s, upgrade %v): %v (the handler panicked?)", tt.path, how, upgrade, err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("%s (%s, upgrade %v): %d, want %d", tt.path, how, upgrade, resp.StatusCode, tt.want)
				}
			}
		}
	}
	// And the socket of a run that exists still works.
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	var run runJSON
	a.do("POST", "/api/v1/compositions/hello/runs", `{}`, 201, &run)
	ws := "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/runs/" + strconv.FormatInt(run.ID, 10) + "/live"
	conn, _, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + a.token}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
