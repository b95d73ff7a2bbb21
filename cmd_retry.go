package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cmdRetry asks a running server to retry a failed or cancelled run,
// through its API: the engine of the server that owns the run is the one
// that may start it (a command that wrote to the database directly would
// start nothing until the server restarted). With --wait it follows the
// new run's log to its end, and its exit code says how the run ended.
func cmdRetry(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("retry", stdout, stderr)
	var from listFlag
	fs.Var(&from, "from", "a task to run again although it succeeded, with everything after it (repeatable)")
	latest := fs.Bool("latest", false, "run the composition's current version instead of the run's own")
	wait := fs.Bool("wait", false, "follow the new run's log until it ends; exit 0 only if it succeeds")
	server := fs.String("server", envString("server", "http://127.0.0.1:8080"), help("server", "URL of the Baton server"))
	token := fs.String("token", envString("token", ""), help("token", "API token, made with: baton token create (or under Settings → API tokens); prefer --token-file or the environment, which other users cannot read in the process list"))
	tokenFile := fs.String("token-file", envString("token-file", ""), help("token-file", "file holding the API token"))
	pos, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "baton retry: "+format+"\n", a...)
		return exitBadArgs
	}
	if len(pos) != 1 {
		return fail("name exactly one run by its number, e.g. baton retry 42")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return fail("%q is not a run number; give the number the run page and the API show, e.g. baton retry 42", pos[0])
	}
	for _, f := range from {
		if strings.TrimSpace(f) == "" {
			return fail("--from needs a task id, e.g. --from deploy")
		}
	}
	base, err := url.Parse(strings.TrimRight(*server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fail("--server %q: give the server's URL, such as http://127.0.0.1:8080 or https://baton.example.com", *server)
	}
	switch tokenGiven := flagGiven(fs, "token"); {
	case tokenGiven && flagGiven(fs, "token-file"):
		return fail("give the token with --token or --token-file, not both")
	case !tokenGiven && *tokenFile != "":
		data, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fail("--token-file: %v", err)
		}
		*token = strings.TrimSpace(string(data))
	}
	if *token == "" {
		return fail("an API token is needed: give --token-file FILE or set BATON_TOKEN (make one with: baton token create)")
	}
	c := &apiClient{base: base.String(), token: *token, http: &http.Client{Timeout: 60 * time.Second}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	body, _ := json.Marshal(map[string]any{"from": []string(from), "latest": *latest})
	var run retryRun
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/runs/%d/retry", id), body, http.StatusCreated, &run); err != nil {
		fmt.Fprintf(stderr, "baton retry: %v\n", err)
		var ae *apiFailure
		if errors.As(err, &ae) && ae.status < 500 {
			return exitBadArgs
		}
		return exitFailed
	}
	var kept, again []string
	for _, t := range run.Tasks {
		if t.KeptFrom != 0 {
			kept = append(kept, t.ID)
		} else {
			again = append(again, t.ID)
		}
	}
	fmt.Fprintf(stdout, "run %d of %s retries run %d: keeps %s; runs again %s\n%s/runs/%d\n",
		run.ID, run.Composition, id, orNothing(kept), orNothing(again), c.base, run.ID)
	if !*wait {
		return exitOK
	}
	status, err := c.follow(ctx, run.ID, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "baton retry: following run %d: %v (it goes on on the server)\n", run.ID, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "run %d of %s %s\n", run.ID, run.Composition, status)
	if status != "succeeded" {
		return exitFailed
	}
	return exitOK
}

func orNothing(ids []string) string {
	if len(ids) == 0 {
		return "nothing"
	}
	return strings.Join(ids, ", ")
}

// retryRun is what the command reads of a run.
type retryRun struct {
	ID          int64  `json:"id"`
	Composition string `json:"composition"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	Tasks       []struct {
		ID       string `json:"id"`
		KeptFrom int64  `json:"kept_from"`
	} `json:"tasks"`
}

// apiClient calls a Baton server's API with a token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiFailure is an answer of the server that is not the one asked for.
type apiFailure struct {
	status int
	msg    string
}

func (e *apiFailure) Error() string { return e.msg }

// do sends a request and decodes the answer, which must have status want.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w (is the server running there? --server sets where)", c.base, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return &apiFailure{status: resp.StatusCode, msg: failureText(resp.StatusCode, data)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected (is %s a Baton server?): %w", method, path, c.base, err)
	}
	return nil
}

// failureText says what the server's error answer says, with its details.
func failureText(status int, data []byte) string {
	var e struct {
		Error   string `json:"error"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		return fmt.Sprintf("the server answered %d %s", status, http.StatusText(status))
	}
	msg := e.Error
	if status == http.StatusUnauthorized {
		msg += " (give a valid API token: baton token create makes one)"
	}
	for _, d := range e.Details {
		if d.Field != "" {
			msg += fmt.Sprintf("\n  %s: %s", d.Field, d.Message)
		} else {
			msg += "\n  " + d.Message
		}
	}
	return msg
}

// follow prints a run's log as it grows, until the run ends, and returns
// how it ended. Each request waits on the server for new lines.
func (c *apiClient) follow(ctx context.Context, id int64, stdout io.Writer) (string, error) {
	var after int64
	for {
		var page struct {
			Lines []struct {
				Seq  int64  `json:"seq"`
				Task string `json:"task"`
				Text string `json:"text"`
			} `json:"lines"`
			Next   int64  `json:"next"`
			Done   bool   `json:"done"`
			Status string `json:"status"`
		}
		path := fmt.Sprintf("/api/v1/runs/%d/log?after=%d&limit=1000&wait=30s", id, after)
		if err := c.do(ctx, "GET", path, nil, http.StatusOK, &page); err != nil {
			return "", err
		}
		for _, l := range page.Lines {
			task := l.Task
			if task == "" {
				task = "baton"
			}
			fmt.Fprintf(stdout, "%-12s | %s\n", task, l.Text)
		}
		if page.Next > after {
			after = page.Next
		}
		if page.Done {
			return page.Status, nil
		}
	}
}
