package agentd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"baton/plugin"
	"baton/protocol"
)

// demoPlugin writes a plugin directory and returns it loaded.
func demoPlugin(t *testing.T, greeting string) *plugin.Plugin {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	os.MkdirAll(dir, 0o755)
	writeFile(t, filepath.Join(dir, plugin.ManifestFile), `name: demo
version: 1.0.0
description: Greets.
tasks:
  demo.hello:
    description: Say hello
    command: [./hello.sh]
    fields:
      who: {type: string, required: true}
`, 0o644)
	writeFile(t, filepath.Join(dir, "hello.sh"), "#!/bin/sh\necho \""+greeting+" $BATON_FIELD_WHO\"\n", 0o755)
	p, err := plugin.LoadPlugin(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPluginFetchedByHash(t *testing.T) {
	ts := newTestServer(t)
	v1, v2 := demoPlugin(t, "hello"), demoPlugin(t, "bonjour")
	for _, p := range []*plugin.Plugin{v1, v2} {
		data, err := p.Archive()
		if err != nil {
			t.Fatal(err)
		}
		ts.plugins[p.Hash] = data
	}
	workdir := t.TempDir()
	ra := startAgent(t, ts, workdir, nil)
	run := func(id string, p *plugin.Plugin) *protocol.Result {
		job := &protocol.Assign{JobID: id, RunID: 1, TaskID: "greet", Attempt: 1, TaskType: "demo.hello",
			Fields: map[string]any{"who": "world"}, Workspace: "demo/0",
			Plugin: &protocol.PluginRef{Name: p.Name, Version: p.Version, Hash: p.Hash}}
		ts.assign(job)
		return ts.waitResult(id)
	}
	// Two versions of one plugin, side by side.
	if res := run("1/greet/1", v1); res.Error != "" {
		t.Fatalf("result = %+v", res)
	}
	if res := run("1/greet/2", v2); res.Error != "" {
		t.Fatalf("result = %+v", res)
	}
	if got := ts.lineTexts("1/greet/1"); len(got) != 1 || got[0] != "hello world" {
		t.Errorf("v1 lines = %q", got)
	}
	if got := ts.lineTexts("1/greet/2"); len(got) != 1 || got[0] != "bonjour world" {
		t.Errorf("v2 lines = %q", got)
	}
	// A plugin the server does not have fails the job, saying why.
	missing := &plugin.Plugin{Name: "demo", Version: "9", Hash: strings.Repeat("ab", 32)}
	if res := run("1/greet/3", missing); !strings.Contains(res.Error, "404") {
		t.Errorf("missing plugin: result = %+v", res)
	}
	ra.stop(t)

	// The next agent on this work directory has both already.
	ts.mu.Lock()
	delete(ts.plugins, v1.Hash)
	ts.mu.Unlock()
	startAgent(t, ts, workdir, nil)
	ts.waitFor("a second hello", func() bool { return len(ts.hellos) == 2 })
	if h := ts.hellos[1]; !slices.Contains(h.Plugins, v1.Hash) || !slices.Contains(h.Plugins, v2.Hash) {
		t.Errorf("hello plugins = %v", h.Plugins)
	}
	if res := run("1/greet/4", v1); res.Error != "" {
		t.Errorf("cached plugin: result = %+v", res)
	}
}

func TestPluginWithWrongContentRefused(t *testing.T) {
	ts := newTestServer(t)
	p := demoPlugin(t, "hello")
	data, _ := p.Archive()
	fake := strings.Repeat("0", 64)
	ts.plugins[fake] = data // the server sends other content than the hash names
	workdir := t.TempDir()
	startAgent(t, ts, workdir, nil)
	ts.assign(&protocol.Assign{JobID: "1/t/1", TaskType: "demo.hello", Workspace: "demo/0",
		Plugin: &protocol.PluginRef{Name: "demo", Version: "1.0.0", Hash: fake}})
	if res := ts.waitResult("1/t/1"); !strings.Contains(res.Error, "content hash is "+p.Hash) {
		t.Errorf("result = %+v", res)
	}
	if _, err := os.Stat(filepath.Join(workdir, "plugins", fake)); !os.IsNotExist(err) {
		t.Errorf("the refused plugin was kept: %v", err)
	}
}
