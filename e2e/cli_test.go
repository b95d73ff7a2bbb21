package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), `name: bad
params:
  n: {type: number}
tasks:
  - id: a
    run: echo ${{ params.m }}
    timout: 5s
  - id: a
    type: htp
  - id: c
    needs: [zzz]
    run: "true"
`)
	writeFile(t, filepath.Join(dir, "good.yaml"), "name: good\ntasks:\n  - id: a\n    run: \"true\"\n")
	res := runBaton(t, dir, "validate", "bad.yaml", "good.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		`bad.yaml:6:`, `params.m`,
		`bad.yaml:7:5: unknown key "timout"`, `did you mean "timeout"`,
		`bad.yaml:8:`, `task id "a" is already used`,
		`bad.yaml:9:`, `htp`,
		`bad.yaml:11:`, `zzz`,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, res.stderr)
		}
	}
	if !strings.Contains(res.stdout, "good.yaml: ok") {
		t.Errorf("good file not reported ok: %s", res.stdout)
	}
	lines := regexp.MustCompile(`(?m)^bad\.yaml:\d+:\d+: `).FindAllString(res.stderr, -1)
	if len(lines) < 5 {
		t.Errorf("want at least 5 problems as file:line:col, got %d:\n%s", len(lines), res.stderr)
	}
}

// TestValidateFieldValues: literal field values that would fail the task
// at run time fail validation, at their line; the same values from
// expressions are left to the run.
func TestValidateFieldValues(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fields.yaml"), `name: fields
params:
  where: {type: string, default: "ftp://x"}
tasks:
  - id: fetch
    type: http
    with: {url: "ftp://x", expect_status: [200, 6xx], save_as: /etc/passwd, timeout: 0s}
  - id: both
    type: wait
    with: {run: "1", composition: x}
  - id: neither
    type: wait
    with: {}
  - id: notanid
    type: wait
    with: {run: "latest"}
  - id: back
    type: sleep
    with: {duration: -1s}
  - id: later
    type: http
    with: {url: "${{ params.where }}"}
`)
	res := runBaton(t, dir, "validate", "fields.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		`fields.yaml:7:`, `"ftp://x" is not an http:// or https:// URL`,
		`"6xx" is not a status code`, `"/etc/passwd" is absolute`, `want a positive duration such as 30s, got 0s`,
		`fields.yaml:10:`, `give exactly one of composition`,
		`fields.yaml:13:`,
		`fields.yaml:16:`, `"latest" is not a run id`,
		`fields.yaml:19:`, `want a duration of 0s or more, got -1s`,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, res.stderr)
		}
	}
	if strings.Contains(res.stderr, "fields.yaml:22:") {
		t.Errorf("a value from an expression was judged before the run:\n%s", res.stderr)
	}
	// Empty means not given: a literal empty save_as, and a wait whose
	// field is chosen by expressions, validate; at run time the empty
	// values are skipped.
	writeFile(t, filepath.Join(dir, "empty.yaml"), `name: empty
params:
  out: {type: string, default: ""}
  comp: {type: string, default: empty-other}
  run_id: {type: string, default: ""}
tasks:
  - id: nothing-saved
    type: wait
    with: {composition: "${{ params.comp }}", run: "${{ params.run_id }}"}
  - id: save
    type: sleep
    with: {duration: 0s}
`)
	if res := runBaton(t, dir, "validate", "empty.yaml"); res.code != 0 {
		t.Errorf("validate empty.yaml: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := runBaton(t, dir, "run", "empty.yaml"); res.code != 0 {
		t.Errorf("run empty.yaml: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer web.Close()
	writeFile(t, filepath.Join(dir, "nosave.yaml"), "name: nosave\nparams:\n  out: {type: string, default: \"\"}\ntasks:\n  - id: get\n    type: http\n    with: {url: \""+web.URL+"\", save_as: \"${{ params.out }}\"}\n")
	if res := runBaton(t, dir, "run", "nosave.yaml"); res.code != 0 {
		t.Errorf("an http task whose save_as comes out empty: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// At run time the expression's value fails the task with the same words.
	writeFile(t, filepath.Join(dir, "later.yaml"), "name: later\nparams:\n  where: {type: string, default: \"ftp://x\"}\ntasks:\n  - id: get\n    type: http\n    with: {url: \"${{ params.where }}\"}\n")
	res = runBaton(t, dir, "run", "later.yaml")
	if res.code != 1 || !strings.Contains(res.stdout, `"ftp://x" is not an http:// or https:// URL`) {
		t.Errorf("run with a bad URL from a parameter: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) < 4 {
		t.Fatalf("examples missing: %v", files)
	}
	res := runBaton(t, ".", append([]string{"validate"}, files...)...)
	if res.code != 0 {
		t.Fatalf("examples do not validate (exit %d):\n%s%s", res.code, res.stdout, res.stderr)
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.yaml"), `name: ok
params:
  n: {type: number, default: 1}
tasks:
  - id: first
    run: echo "one ${{ params.n }}"; echo "one-err" >&2
  - id: second
    run: echo two
`)
	writeFile(t, filepath.Join(dir, "fail.yaml"), "name: fail\ntasks:\n  - id: boom\n    run: exit 3\n  - id: after\n    run: echo never\n")
	res := runBaton(t, dir, "run", "ok.yaml", "--param", "n=5")
	if res.code != 0 {
		t.Fatalf("ok.yaml exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"first        | one 5", "first        | one-err", "second       | two", "run 1 of ok succeeded"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "\x1b[") {
		t.Errorf("colour codes written to a pipe")
	}
	res = runBaton(t, dir, "run", "fail.yaml")
	if res.code != 1 || !strings.Contains(res.stdout, "task boom failed: exit status 3") || !strings.Contains(res.stdout, "after                skipped") {
		t.Errorf("fail.yaml: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runBaton(t, dir, "run", "ok.yaml", "--param", "n=abc", "--param", "x=1")
	if res.code != 2 || !strings.Contains(res.stderr, `"abc"`) || !strings.Contains(res.stderr, `"x"`) {
		t.Errorf("bad params: exit %d\n%s", res.code, res.stderr)
	}
	res = runBaton(t, dir, "run", "missing.yaml")
	if res.code != 2 {
		t.Errorf("missing file: exit %d", res.code)
	}
	// No slot would wait forever: refused at once.
	res = runBaton(t, dir, "run", "ok.yaml", "--slots", "0")
	if res.code != 2 || !strings.Contains(res.stderr, "--slots 0: give at least 1") {
		t.Errorf("--slots 0: exit %d\n%s", res.code, res.stderr)
	}
	res = runBaton(t, dir, "serve", "--local-slots", "-1")
	if res.code != 2 || !strings.Contains(res.stderr, "--local-slots -1") {
		t.Errorf("serve --local-slots -1: exit %d\n%s", res.code, res.stderr)
	}
	res = runBaton(t, dir, "serve", "--addr", "nonsense")
	if res.code != 2 || !strings.Contains(res.stderr, "give host:port") {
		t.Errorf("serve --addr nonsense: exit %d\n%s", res.code, res.stderr)
	}
}

// TestCommandLineMistakes: a mistyped directory or a bad value in the
// environment is refused with exit 2 and says what to fix; a flag on the
// command line still wins over a bad variable.
func TestCommandLineMistakes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.yaml"), "name: ok\ntasks:\n  - id: a\n    run: echo ran\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--compositions", "nope"}, "--compositions nope: no such directory"},
		{[]string{"serve", "--plugins", "ok.yaml"}, "--plugins ok.yaml: a file, not a directory"},
		{[]string{"run", "ok.yaml", "--plugins", "nope"}, "--plugins nope: no such directory"},
		{[]string{"validate", "--plugins", "nope", "ok.yaml"}, "--plugins nope: no such directory"},
	} {
		if res := runBaton(t, dir, c.args...); res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("baton %v: exit %d, want 2 and %q:\n%s", c.args, res.code, c.want, res.stderr)
		}
	}
	t.Setenv("BATON_SLOTS", "many")
	if res := runBaton(t, dir, "run", "ok.yaml"); res.code != 2 || !strings.Contains(res.stderr, `BATON_SLOTS="many" is not a whole number (it sets --slots`) {
		t.Errorf("BATON_SLOTS=many: exit %d:\n%s", res.code, res.stderr)
	}
	if res := runBaton(t, dir, "run", "ok.yaml", "--slots", "2"); res.code != 0 || !strings.Contains(res.stdout, "a            | ran") {
		t.Errorf("--slots 2 over BATON_SLOTS=many: exit %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := runBaton(t, dir, "--version"); res.code != 0 || !strings.HasPrefix(res.stdout, "baton ") {
		t.Errorf("baton --version: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
}

// TestServeOnABusyAddress: a second server on a taken address says so and
// stops before it creates anything, the first user and its password above all.
func TestServeOnABusyAddress(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "first"))
	second := filepath.Join(dir, "second")
	res := runBaton(t, dir, "serve", "--data", second, "--addr", strings.TrimPrefix(s.url, "http://"))
	if res.code != 1 || !strings.Contains(res.stderr, "the address is in use") {
		t.Errorf("exit %d, want 1 and why:\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stderr, "password") {
		t.Errorf("a server that could not start printed a first password:\n%s", res.stderr)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Errorf("the second server created its data directory (%v)", err)
	}
}

func TestRunApprovalWithoutTerminal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gate.yaml"), `name: gate
tasks:
  - id: ask
    type: approval
    with: {message: "Go on?"}
  - id: go
    run: echo went on
`)
	res := runBaton(t, dir, "run", "gate.yaml")
	if res.code != 1 || !strings.Contains(res.stdout, "--yes") {
		t.Errorf("without a terminal: exit %d, want 1 and a hint about --yes\n%s", res.code, res.stdout)
	}
	res = runBaton(t, dir, "run", "gate.yaml", "--yes")
	if res.code != 0 || !strings.Contains(res.stdout, "go           | went on") {
		t.Errorf("with --yes: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestReleaseExample runs the seed story end to end through baton run:
// download over HTTP, provision with the plugin, deploy, git checkout,
// tests, approval, and a deprovision that inherits its instances.
func TestReleaseExample(t *testing.T) {
	artifact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("PK fake war file"))
	}))
	defer artifact.Close()
	res := runBaton(t, "..", "run", "examples/release-webapp.yaml", "--yes", "--param", "artifact_url="+artifact.URL+"/webapp.war")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"provision", "started i-", "deployed webapp-1.4.2.war to i-", "acceptance: instances/i-", "looks deployable", "deprovision  | stopped i-"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	// Without a terminal the approval is rejected; the instance is still
	// stopped, because deprovision is marked always.
	res = runBaton(t, "..", "run", "examples/release-webapp.yaml", "--param", "artifact_url="+artifact.URL+"/webapp.war")
	if res.code != 1 || !strings.Contains(res.stdout, "task approve failed") || !strings.Contains(res.stdout, "deprovision  | stopped i-") {
		t.Errorf("rejected release: exit %d, want 1 with the instance stopped\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestRunCtrlC interrupts baton run: the first Ctrl-C cancels the run but
// lets its clean-up task start, the second stops that too.
func TestRunCtrlC(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "long.yaml"), `name: long
tasks:
  - id: work
    run: echo working; sleep 60
  - id: cleanup
    always: true
    run: echo cleaning; sleep 60
`)
	cmd := exec.Command(baton, "run", "long.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitOutput := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("never printed %q:\n%s", want, out.String())
			}
			waitABit()
		}
	}
	waitOutput("work         | working")
	cmd.Process.Signal(os.Interrupt)
	waitOutput("cleanup      | cleaning")
	cmd.Process.Signal(syscall.SIGTERM) // counts as a second Ctrl-C, and says so
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("baton run did not end after the second Ctrl-C:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"SIGTERM again: cancelling with force", "work                 cancelled", "cleanup              cancelled", "cancelled by Ctrl-C", "cancelled with force by SIGTERM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunCallsSiblingCompositions(t *testing.T) {
	res := runBaton(t, "..", "run", "examples/deploy-both.yaml", "--param", "fail_host_b=true")
	if res.code != 1 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "host-a/deploy | deployed app-1.0.war to a") {
		t.Errorf("child run lines are not prefixed with the calling task:\n%s", res.stdout)
	}
	res = runBaton(t, "..", "run", "examples/deploy-both.yaml")
	if res.code != 0 || !strings.Contains(res.stdout, "shipped app-1.0.war to a and b") {
		t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestCompositionFilesKeepLaterEdits: a composition saved in the editor or
// through the API keeps that change across restarts while its file stays
// the same; a changed file replaces it, and both stay in the history. A
// deleted one stays deleted until its file changes.
func TestCompositionFilesKeepLaterEdits(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	file := filepath.Join(comps, "greet.yaml")
	writeFile(t, file, "name: greet\ntasks:\n  - id: a\n    run: echo from the file\n")
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	s.call("PUT", "/api/v1/compositions/greet?message=edited", "name: greet\ntasks:\n  - id: a\n    run: echo edited\n", 200, nil)

	s.stop()
	s.start()
	var cur struct {
		Version int
		Source  string
	}
	s.call("GET", "/api/v1/compositions/greet", "", 200, &cur)
	if cur.Version != 2 || !strings.Contains(cur.Source, "edited") {
		t.Fatalf("after a restart with the file unchanged: version %d:\n%s", cur.Version, cur.Source)
	}

	writeFile(t, file, "name: greet\ntasks:\n  - id: a\n    run: echo the file changed\n")
	s.stop()
	s.start()
	s.call("GET", "/api/v1/compositions/greet", "", 200, &cur)
	if cur.Version != 3 || !strings.Contains(cur.Source, "the file changed") {
		t.Fatalf("after the file changed: version %d:\n%s", cur.Version, cur.Source)
	}
	if !strings.Contains(s.log.String(), "replaces the version saved since") {
		t.Errorf("the replaced edit was not logged:\n%s", s.log)
	}

	// Deleted through the API: a restart with the file unchanged does not
	// bring it back; a changed file does.
	s.call("DELETE", "/api/v1/compositions/greet", "", 204, nil)
	s.stop()
	s.start()
	s.call("GET", "/api/v1/compositions/greet", "", 404, nil)
	s.stop()
	if !strings.Contains(s.log.String(), "so it stays deleted") {
		t.Errorf("the server did not say why the file was not loaded:\n%s", s.log)
	}
	writeFile(t, file, "name: greet\ntasks:\n  - id: a\n    run: echo back again\n")
	s.start()
	s.call("GET", "/api/v1/compositions/greet", "", 200, &cur)
	if !strings.Contains(cur.Source, "back again") {
		t.Fatalf("after the deleted composition's file changed:\n%s", cur.Source)
	}
	s.stop()
	if !strings.Contains(s.log.String(), "loading it again") {
		t.Errorf("the server did not say it loaded the changed file again:\n%s", s.log)
	}
}

// TestUserAndTokenCommands manages users and tokens on a server's data
// directory while it runs: mistakes get a message meant for a person.
func TestUserAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	res := runBaton(t, dir, "user", "add", "alice.ops", "--data", s.data)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "password of alice.ops: ") {
		t.Fatalf("user add: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if res = runBaton(t, dir, "user", "add", "Bad Name", "--data", s.data); res.code != 2 || !strings.Contains(res.stderr, "1 to 64 letters") {
		t.Errorf("user add \"Bad Name\": exit %d: %s", res.code, res.stderr)
	}
	if res = runBaton(t, dir, "user", "add", "alice.ops", "--data", s.data); res.code != 1 || !strings.Contains(res.stderr, "already a user alice.ops") {
		t.Errorf("user add twice: exit %d: %s", res.code, res.stderr)
	}
	res = runBaton(t, dir, "token", "create", "--user", "alice.ops", "--name", "ci", "--data", s.data)
	token := strings.TrimSpace(res.stdout)
	if res.code != 0 || token == "" {
		t.Fatalf("token create: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	// The new token works against the running server.
	req, _ := http.NewRequest("GET", s.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the new token: status %d", resp.StatusCode)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"token", "revoke", "999"}, 1, "there is no API token 999"},
		{[]string{"agent-token", "revoke", "999"}, 1, "there is no agent token 999"},
		{[]string{"token", "revoke", "abc"}, 2, `"abc" is not a token ID`},
		{[]string{"user", "remove", "ghost"}, 1, "there is no user ghost"},
	} {
		res := runBaton(t, dir, append(c.args, "--data", s.data)...)
		if res.code != c.code || !strings.Contains(res.stderr, c.want) || strings.Contains(res.stderr, "storage:") {
			t.Errorf("baton %v: exit %d, want %d and %q:\n%s", c.args, res.code, c.code, c.want, res.stderr)
		}
	}
	if res = runBaton(t, dir, "user", "remove", "admin", "--data", s.data); res.code != 0 {
		t.Errorf("user remove admin while alice.ops remains: exit %d: %s", res.code, res.stderr)
	}
	if res = runBaton(t, dir, "user", "remove", "alice.ops", "--data", s.data); res.code != 1 || !strings.Contains(res.stderr, "the only user") {
		t.Errorf("removing the last user: exit %d: %s", res.code, res.stderr)
	}
	if res = runBaton(t, dir, "user", "add", "bob", "--data", s.data); res.code != 0 {
		t.Fatalf("user add bob: exit %d: %s", res.code, res.stderr)
	}
	if res = runBaton(t, dir, "user", "remove", "alice.ops", "--data", s.data); res.code != 0 {
		t.Errorf("user remove: exit %d: %s", res.code, res.stderr)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the token of a removed user: status %d, want 401", resp.StatusCode)
	}
}
