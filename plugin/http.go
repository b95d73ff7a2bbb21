package plugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"baton/composition"
)

// MaxBodyOutput caps the body output of an http task: a longer or binary
// body is not kept as an output (save_as keeps it in a file).
const MaxBodyOutput = 1 << 20

// maxPickBody caps the response an http task reads into memory to evaluate
// its picks.
const maxPickBody = 64 << 20

// errRequestTimeout is the cause of a request that outlived the timeout field.
var errRequestTimeout = errors.New("request timeout")

// HTTPRunner runs http tasks: one request, its status checked against
// expect_status (any 2xx when empty), its body saved to save_as or kept as
// the body output, and values picked out of a JSON body into outputs. The
// status output always holds the status code. A line on the System stream
// tells how the request went.
type HTTPRunner struct {
	// Transport sends the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

var _ Runner = (*HTTPRunner)(nil)

// httpRequest is an http task's fields, checked.
type httpRequest struct {
	method  string
	url     string
	headers map[string]string
	body    string
	expect  []statusMatch
	saveAs  string
	pick    map[string]string
	timeout time.Duration
	follow  bool
}

// statusMatch is one entry of expect_status: a code (404) or a class (2xx).
type statusMatch struct {
	code  int
	class bool // code holds the first digit only
	text  string
}

// Run sends the job's request; see HTTPRunner.
func (h *HTTPRunner) Run(ctx context.Context, job Job, sink Sink) Result {
	p, err := parseHTTPFields(job.Fields)
	if err != nil {
		return Result{Err: err}
	}
	if ctx.Err() != nil {
		return Result{Err: stopErr(ctx)}
	}
	reqCtx, cancel := context.WithTimeoutCause(ctx, p.timeout, errRequestTimeout)
	defer cancel()
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequestWithContext(reqCtx, p.method, p.url, body)
	if err != nil {
		return Result{Err: fmt.Errorf("field url: %w", err)}
	}
	for k, v := range p.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: h.Transport}
	if !p.follow {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	shown := req.URL.Redacted()
	fail := func(err error) Result {
		return Result{Err: requestError(ctx, reqCtx, p, shown, err)}
	}

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	outputs := map[string]string{"status": strconv.Itoa(resp.StatusCode)}
	logDone := func(n int64) {
		sink(System, time.Now(), fmt.Sprintf("%s %s -> %s (%d bytes in %s)", p.method, shown, resp.Status, n, elapsed(start)))
	}

	if !statusOK(resp.StatusCode, p.expect) {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		rest, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodyOutput))
		logDone(int64(len(head)) + rest)
		return Result{Outputs: outputs, Err: fmt.Errorf("%s %s: status %s, want %s; the body starts %q",
			p.method, shown, resp.Status, describeExpect(p.expect), strings.ToValidUTF8(string(head), "\uFFFD"))}
	}

	var doc []byte // what picks read; the body when it is kept
	var n int64
	if p.saveAs != "" {
		var capture *capBuffer
		var w io.Writer
		if len(p.pick) > 0 {
			capture = &capBuffer{limit: maxPickBody}
			w = capture
		}
		n, err = saveBody(job.Workdir, p.saveAs, resp.Body, w)
		if err != nil {
			if reqCtx.Err() != nil {
				return fail(err)
			}
			return Result{Outputs: outputs, Err: err}
		}
		if capture != nil {
			if capture.over {
				return Result{Outputs: outputs, Err: fmt.Errorf("the response is over 64 MiB, too big to pick values from; it was saved to %s", p.saveAs)}
			}
			doc = capture.buf.Bytes()
		}
		logDone(n)
	} else {
		doc, n, err = readBody(resp.Body, len(p.pick) > 0)
		if err != nil {
			if reqCtx.Err() != nil {
				return fail(err)
			}
			return Result{Outputs: outputs, Err: fmt.Errorf("%s %s: read the body: %w", p.method, shown, err)}
		}
		logDone(n)
		switch {
		case n > MaxBodyOutput:
			sink(System, time.Now(), "the body is over 1 MiB, so it is not kept as the body output; set save_as to keep it in a file")
		case utf8.Valid(doc) && bytes.IndexByte(doc, 0) < 0:
			outputs["body"] = string(doc)
		default:
			sink(System, time.Now(), "the body is binary, so it is not kept as the body output; set save_as to keep it in a file")
		}
	}

	for _, name := range slices.Sorted(maps.Keys(p.pick)) {
		v, err := pickJSON(doc, p.pick[name])
		if err != nil {
			return Result{Outputs: outputs, Err: fmt.Errorf("pick %s: %w", name, err)}
		}
		outputs[name] = v
	}
	return Result{Outputs: outputs}
}

// parseHTTPFields reads and checks an http task's fields, applying the
// manifest's defaults to missing ones.
func parseHTTPFields(f map[string]any) (httpRequest, error) {
	var p httpRequest
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	p.method, err = fieldString(f, "method", http.MethodGet)
	add(err)
	p.method = strings.ToUpper(strings.TrimSpace(p.method))
	if p.method == "" {
		p.method = http.MethodGet
	}
	if strings.ContainsFunc(p.method, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
		add(fmt.Errorf("field method: %q is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS", p.method))
	}
	p.url, err = fieldString(f, "url", "")
	add(err)
	if err == nil && strings.TrimSpace(p.url) == "" {
		add(errors.New("field url is empty: give the URL to request"))
	} else if err == nil {
		if err := checkHTTPURL(p.url); err != nil {
			add(fmt.Errorf("field url: %w", err))
		}
	}
	p.headers, err = fieldMap(f, "headers")
	add(err)
	p.body, err = fieldString(f, "body", "")
	add(err)
	list, err := fieldList(f, "expect_status")
	add(err)
	for _, v := range list {
		m, err := parseStatusMatch(v)
		add(err)
		p.expect = append(p.expect, m)
	}
	p.saveAs, err = fieldString(f, "save_as", "")
	add(err)
	if p.saveAs != "" {
		add(checkSaveAs(p.saveAs))
	}
	p.pick, err = fieldMap(f, "pick")
	add(err)
	for name, path := range p.pick {
		if !validName(name) {
			add(fmt.Errorf("field pick: %w", checkOutputName(name)))
		}
		if _, err := parsePickPath(path); err != nil {
			add(fmt.Errorf("field pick: %s: %w", name, err))
		}
	}
	p.timeout, err = fieldDuration(f, "timeout", 30*time.Second)
	add(err)
	if p.timeout <= 0 {
		add(fmt.Errorf("field timeout: want a positive duration such as 30s, got %s", p.timeout))
	}
	p.follow, err = fieldBool(f, "follow_redirects", true)
	add(err)
	return p, errors.Join(errs...)
}

// parseStatusMatch reads one expect_status entry: 201, "201" or "2xx".
func parseStatusMatch(v any) (statusMatch, error) {
	s := strings.TrimSpace(composition.FormatValue(v))
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' && strings.EqualFold(s[1:], "xx") {
		return statusMatch{code: int(s[0] - '0'), class: true, text: strings.ToLower(s)}, nil
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return statusMatch{}, fmt.Errorf("field expect_status: %s is not a status code; write codes such as 200 or classes such as 2xx", describe(v))
	}
	return statusMatch{code: code, text: s}, nil
}

// statusOK reports whether code is expected: any 2xx when expect is empty.
func statusOK(code int, expect []statusMatch) bool {
	if len(expect) == 0 {
		return code >= 200 && code <= 299
	}
	for _, m := range expect {
		if m.code == code || m.class && code/100 == m.code {
			return true
		}
	}
	return false
}

// describeExpect says which statuses a task accepts.
func describeExpect(expect []statusMatch) string {
	if len(expect) == 0 {
		return "2xx"
	}
	texts := make([]string, len(expect))
	for i, m := range expect {
		texts[i] = m.text
	}
	return strings.Join(texts, " or ")
}

// checkSaveAs refuses a save_as path that is not inside the workspace.
func checkSaveAs(p string) error {
	switch {
	case filepath.IsAbs(p):
		return fmt.Errorf("field save_as: %q is absolute; give a path relative to the workspace, such as out/response.json", p)
	case !filepath.IsLocal(p):
		return fmt.Errorf("field save_as: %q leads out of the workspace; give a path inside it, without .. escapes, such as out/response.json", p)
	}
	return nil
}

// saveBody streams r into the file rel inside workdir, creating its parent
// directories, through a temporary file renamed into place so that no one
// sees half a file. The workspace is opened as an os.Root, so a symlink
// cannot lead the write outside it. A non-nil capture also gets the body.
func saveBody(workdir, rel string, r io.Reader, capture io.Writer) (int64, error) {
	abs, err := prepareWorkdir(workdir)
	if err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return 0, fmt.Errorf("save_as: %w", err)
	}
	defer root.Close()
	rel = filepath.Clean(rel)
	dir := filepath.Dir(rel)
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("save_as %s: create its directory: %w", rel, err)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(rel)+"."+rand.Text()[:10]+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("save_as %s: %w", rel, err)
	}
	var w io.Writer = f
	if capture != nil {
		w = io.MultiWriter(f, capture)
	}
	n, err := io.Copy(w, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
		return n, fmt.Errorf("save_as %s: %w", rel, err)
	}
	return n, nil
}

// readBody reads a response body. It keeps up to MaxBodyOutput bytes, or up
// to maxPickBody when all is needed for picks, and only counts the rest.
func readBody(r io.Reader, all bool) ([]byte, int64, error) {
	limit := int64(MaxBodyOutput)
	if all {
		limit = maxPickBody
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	n := int64(len(data))
	if err != nil {
		return nil, n, err
	}
	if n <= limit {
		return data, n, nil
	}
	if all {
		return nil, n, errors.New("the response is over 64 MiB, too big to pick values from; set save_as to write it to a file")
	}
	rest, err := io.Copy(io.Discard, r)
	return data, n + rest, err
}

// capBuffer keeps what is written to it up to limit bytes and then only
// notes that there was more.
type capBuffer struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if c.over {
		return len(p), nil
	}
	if c.buf.Len()+len(p) > c.limit {
		c.over = true
		c.buf = bytes.Buffer{}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// requestError explains why a request failed: the task's context ended,
// the timeout field passed, or the request itself failed.
func requestError(ctx, reqCtx context.Context, p httpRequest, shown string, err error) error {
	if ctx.Err() != nil {
		return stopErr(ctx)
	}
	if errors.Is(context.Cause(reqCtx), errRequestTimeout) {
		return fmt.Errorf("%s %s: no complete response within %s; raise the timeout field if the server is slow", p.method, shown, p.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", p.method, shown, err)
}

// elapsed formats the time since start for a log line: 52ms, 1.24s.
func elapsed(start time.Time) string {
	d := time.Since(start)
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return d.Round(10 * time.Millisecond).String()
}
