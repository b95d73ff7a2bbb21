package plugin

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data": {"items": [{"id": "i-123", "size": 1.50, "tags": ["a", "b"], "meta": {"z": 1, "a": null}}]}, "ok": true, "none": null}`)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+r.Header.Get("X-Token")+" "+string(body))
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error": "no such thing"}`+strings.Repeat(" ", 1000))
	})
	mux.HandleFunc("GET /binary", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/json", http.StatusFound)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := testServer(t)
	tests := []struct {
		name    string
		fields  map[string]any
		want    map[string]string // outputs that must be there
		absent  []string          // outputs that must not be
		wantErr string
	}{
		{
			name:   "json pick",
			fields: map[string]any{"url": srv.URL + "/json", "pick": map[string]any{"id": "data.items[0].id", "size": "data.items[0].size", "tags": "data.items[0].tags", "meta": "$.data.items[0].meta", "ok": "ok", "none": "none"}},
			want:   map[string]string{"status": "200", "id": "i-123", "size": "1.50", "tags": `["a","b"]`, "meta": `{"z":1,"a":null}`, "ok": "true", "none": "null"},
		},
		{
			name:    "pick that finds nothing",
			fields:  map[string]any{"url": srv.URL + "/json", "pick": map[string]any{"id": "data.items[3].id"}},
			wantErr: "pick id: data.items[3].id: $.data.items has 1 items, no [3]",
		},
		{
			name:    "pick a missing key",
			fields:  map[string]any{"url": srv.URL + "/json", "pick": map[string]string{"x": "data.itemz"}},
			wantErr: `pick x: data.itemz: $.data has no key "itemz"`,
		},
		{
			name:   "body output and request fields",
			fields: map[string]any{"method": "post", "url": srv.URL + "/echo", "headers": map[string]any{"X-Token": "t1"}, "body": "hello"},
			want:   map[string]string{"status": "200", "body": "POST t1 hello"},
		},
		{
			name:    "unexpected status",
			fields:  map[string]any{"url": srv.URL + "/missing"},
			want:    map[string]string{"status": "404"},
			wantErr: `status 404 Not Found, want 2xx; the body starts "{\"error\": \"no such thing\"}`,
		},
		{
			name:   "expected status",
			fields: map[string]any{"url": srv.URL + "/missing", "expect_status": []any{200.0, 404.0}},
			want:   map[string]string{"status": "404"},
		},
		{
			name:   "expected status class",
			fields: map[string]any{"url": srv.URL + "/missing", "expect_status": []any{"4xx"}},
			want:   map[string]string{"status": "404"},
		},
		{
			name:    "expect_status excludes 200",
			fields:  map[string]any{"url": srv.URL + "/json", "expect_status": []any{"201"}},
			wantErr: "status 200 OK, want 201",
		},
		{
			name:   "binary body is no output",
			fields: map[string]any{"url": srv.URL + "/binary"},
			want:   map[string]string{"status": "200"},
			absent: []string{"body"},
		},
		{
			name:   "redirect followed",
			fields: map[string]any{"url": srv.URL + "/redirect", "pick": map[string]any{"id": "data.items[0].id"}},
			want:   map[string]string{"status": "200", "id": "i-123"},
		},
		{
			name:   "redirect not followed",
			fields: map[string]any{"url": srv.URL + "/redirect", "follow_redirects": false, "expect_status": []any{302}},
			want:   map[string]string{"status": "302"},
		},
		{
			name:    "timeout field",
			fields:  map[string]any{"url": srv.URL + "/slow", "timeout": "100ms"},
			wantErr: "no complete response within 100ms",
		},
		{
			name:    "bad fields",
			fields:  map[string]any{"url": "", "timeout": "soon", "expect_status": []any{"abc"}},
			wantErr: "field url is empty",
		},
		{
			name:    "bad method",
			fields:  map[string]any{"url": srv.URL + "/json", "method": "GE T"},
			wantErr: `field method: "GE T" is not an HTTP method`,
		},
		{
			name:    "not http",
			fields:  map[string]any{"url": "ftp://example.com/x"},
			wantErr: `field url: "ftp://example.com/x" is not an http:// or https:// URL`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := Job{Type: "http", Fields: tt.fields, Workdir: t.TempDir()}
			var c collector
			res := NewRegistry().Run(context.Background(), job, c.sink)
			if tt.wantErr == "" && res.Err != nil {
				t.Fatalf("err = %v", res.Err)
			}
			if tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", res.Err, tt.wantErr)
			}
			for k, v := range tt.want {
				if got, ok := res.Outputs[k]; !ok || got != v {
					t.Errorf("output %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := res.Outputs[k]; ok {
					t.Errorf("output %s is set", k)
				}
			}
		})
	}
}

func TestHTTPLogLine(t *testing.T) {
	srv := testServer(t)
	job := Job{Type: "http", Fields: map[string]any{"url": srv.URL + "/json"}, Workdir: t.TempDir()}
	var c collector
	if res := NewRegistry().Run(context.Background(), job, c.sink); res.Err != nil {
		t.Fatal(res.Err)
	}
	got := c.texts(System)
	re := regexp.MustCompile(`^GET http://127\.0\.0\.1:\d+/json -> 200 OK \(\d+ bytes in \d+ms\)$`)
	if len(got) != 1 || !re.MatchString(got[0]) {
		t.Errorf("log = %q", got)
	}
}

func TestHTTPSaveAs(t *testing.T) {
	srv := testServer(t)
	ws := t.TempDir()
	job := Job{Type: "http", Workdir: ws, Fields: map[string]any{
		"url": srv.URL + "/json", "save_as": "out/deep/resp.json", "pick": map[string]any{"id": "data.items[0].id"},
	}}
	res := NewRegistry().Run(context.Background(), job, func(Stream, time.Time, string) {})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	data, err := os.ReadFile(filepath.Join(ws, "out", "deep", "resp.json"))
	if err != nil || !strings.HasPrefix(string(data), `{"data": {"items"`) {
		t.Fatalf("saved %q, %v", data, err)
	}
	want := map[string]string{"status": "200", "id": "i-123"}
	if !maps.Equal(res.Outputs, want) {
		t.Errorf("outputs = %q, want %q (no body output with save_as)", res.Outputs, want)
	}
	entries, _ := os.ReadDir(filepath.Join(ws, "out", "deep"))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestHTTPSaveAsRefusesEscapes(t *testing.T) {
	srv := testServer(t)
	outside := t.TempDir()
	ws := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		saveAs, wantErr string
	}{
		{"../escape.json", "leads out of the workspace"},
		{"a/../../escape.json", "leads out of the workspace"},
		{"/tmp/abs.json", "is absolute"},
		{"link/escape.json", "save_as link/escape.json"},
	}
	for _, tt := range tests {
		t.Run(tt.saveAs, func(t *testing.T) {
			job := Job{Type: "http", Workdir: ws, Fields: map[string]any{"url": srv.URL + "/json", "save_as": tt.saveAs}}
			res := NewRegistry().Run(context.Background(), job, func(Stream, time.Time, string) {})
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", res.Err, tt.wantErr)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("wrote outside the workspace: %v", entries)
	}
}

func TestParsePickPath(t *testing.T) {
	tests := []struct {
		path    string
		want    string
		wantErr bool
	}{
		{path: "a.b[0].c", want: "a b [0] c"},
		{path: "[1][2]", want: "[1] [2]"},
		{path: "$.a", want: "a"},
		{path: "$ref", want: "$ref"},
		{path: "a..b", wantErr: true},
		{path: "a.", wantErr: true},
		{path: "a[x]", wantErr: true},
		{path: "a[1", wantErr: true},
		{path: "a[-1]", wantErr: true},
		{path: "a[0]b", wantErr: true},
	}
	for _, tt := range tests {
		steps, err := parsePickPath(tt.path)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tt.path)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.path, err)
			continue
		}
		var parts []string
		for _, s := range steps {
			if s.isIndex {
				parts = append(parts, "["+string(rune('0'+s.index))+"]")
			} else {
				parts = append(parts, s.key)
			}
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.path, got, tt.want)
		}
	}
}
