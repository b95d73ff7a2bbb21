package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/composition"
)

const cloudManifest = `name: cloud
version: 1.0.0
description: Starts and stops instances.
tasks:
  cloud.provision:
    description: Start instances
    icon: cloud
    command: [./provision.sh, --verbose]
    exports: [cloud.instances]
    fields:
      count: {type: number, default: 1, description: How many}
      image: {type: string, required: true}
      size: {type: string, default: small, enum: [small, large]}
      tags: {type: list}
      dry-run: {type: boolean, default: false}
      labels: {type: map}
      wait: {type: duration, default: 1m}
  cloud.deprovision:
    command: [./deprovision.sh]
    fields:
      instances: {type: list, default: "${{ context.cloud.instances }}"}
`

// provisionScript records what a plugin command receives.
const provisionScript = `#!/bin/sh
set -e
cat > "$BATON_WORKSPACE/stdin.json"
{
  echo "args=$*"
  echo "count=$BATON_FIELD_COUNT"
  echo "image=$BATON_FIELD_IMAGE"
  echo "tags=$BATON_FIELD_TAGS"
  echo "dry_run=$BATON_FIELD_DRY_RUN"
  echo "labels=$BATON_FIELD_LABELS"
  echo "wait=$BATON_FIELD_WAIT"
  echo "plugin_dir=$BATON_PLUGIN_DIR"
  echo "pwd=$(pwd)"
} >> "$BATON_OUTPUT"
echo "cloud.instances=i-1 i-2" >> "$BATON_CONTEXT"
echo "provisioning $BATON_FIELD_COUNT"
`

// writePlugin creates a plugin directory; files ending in .sh are
// executable.
func writePlugin(t *testing.T, dir, manifest string, files map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func cloudPlugin(t *testing.T, dir string) string {
	return writePlugin(t, dir, cloudManifest, map[string]string{
		"provision.sh":   provisionScript,
		"deprovision.sh": "#!/bin/sh\necho bye\n",
	})
}

func TestLoadPlugin(t *testing.T) {
	dir := cloudPlugin(t, t.TempDir())
	p, err := LoadPlugin(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "cloud" || p.Version != "1.0.0" || p.Description != "Starts and stops instances." || p.Dir != dir {
		t.Errorf("plugin = %+v", p)
	}
	if len(p.Hash) != 64 {
		t.Errorf("hash = %q", p.Hash)
	}
	if len(p.Tasks) != 2 || p.Tasks[0].Name != "cloud.provision" || p.Tasks[1].Name != "cloud.deprovision" {
		t.Fatalf("tasks = %v", p.Tasks)
	}
	prov := p.Tasks[0]
	if prov.Group != "cloud" || prov.Icon != "cloud" || prov.Plugin != p || len(prov.Command) != 2 ||
		len(prov.Exports) != 1 || prov.Exports[0] != "cloud.instances" {
		t.Errorf("provision = %+v", prov)
	}
	count, ok := prov.Field("count")
	if !ok || count.Type != composition.TypeNumber || count.Default != 1.0 || count.Description != "How many" {
		t.Errorf("count = %+v", count)
	}
	if image, _ := prov.Field("image"); !image.Required {
		t.Errorf("image = %+v", image)
	}
	if size, _ := prov.Field("size"); len(size.Enum) != 2 || size.Default != "small" {
		t.Errorf("size = %+v", size)
	}
	inst, _ := p.Tasks[1].Field("instances")
	if inst.Default != "${{ context.cloud.instances }}" {
		t.Errorf("instances = %+v", inst)
	}
}

func TestLoadPluginErrors(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		files    map[string]string
		want     []string
	}{
		{
			name:     "unknown keys",
			manifest: "name: x\nvesion: 1\ntasks:\n  x.a:\n    comand: [./a.sh]\n    command: [./a.sh]\n    fields:\n      n: {type: number, defualt: 1}\n",
			want: []string{
				`plugin.yaml:2:1: the manifest: unknown key "vesion"; the keys here are name, version, description, tasks`,
				`plugin.yaml:5:5: task x.a: unknown key "comand"`,
				`plugin.yaml:8:25: task x.a: field n: unknown key "defualt"`,
			},
		},
		{
			name:     "fields that share an environment variable",
			manifest: "name: x\ntasks:\n  x.a:\n    command: [./a.sh]\n    fields:\n      dry-run: {type: boolean}\n      dry_run: {type: boolean}\n",
			want: []string{
				`plugin.yaml:7:7: task x.a: field dry_run: fields dry-run and dry_run would both reach the command as BATON_FIELD_DRY_RUN; rename one`,
			},
		},
		{
			name:     "bad field type",
			manifest: "name: x\ntasks:\n  x.a:\n    command: [./a.sh]\n    fields:\n      n: {type: nubmer}\n      m: {required: true}\n",
			want: []string{
				`plugin.yaml:6:17: task x.a: field n: unknown type "nubmer"; use one of string, text, number, boolean, list, map, secret, duration`,
				`plugin.yaml:7:7: task x.a: field m has no type`,
			},
		},
		{
			name:     "missing command",
			manifest: "name: x\ntasks:\n  x.a:\n    command: [./nope.sh]\n  x.b:\n    description: no command\n  x.c:\n    command: [./plain.txt]\n  x.d:\n    command: [no-such-program-anywhere]\n",
			files:    map[string]string{"plain.txt": "not executable"},
			want: []string{
				`plugin.yaml:4:15: task x.a: command ./nope.sh:`,
				`does not exist; the path is relative to the plugin directory`,
				`plugin.yaml:5:3: task x.b has no command: add command: [./b.sh]`,
				`plugin.yaml:8:15: task x.c: command ./plain.txt is not executable; run chmod +x`,
				`plugin.yaml:10:15: task x.d: command no-such-program-anywhere is not a program in PATH`,
			},
		},
		{
			name:     "task name without the plugin's prefix",
			manifest: "name: cloud\ntasks:\n  provision:\n    command: [sh]\n",
			want:     []string{`plugin.yaml:3:3: task type "provision": name it cloud.<task>`},
		},
		{
			name:     "bad default and enum",
			manifest: "name: x\ntasks:\n  x.a:\n    command: [sh]\n    fields:\n      n: {type: number, default: many}\n      d: {type: duration, default: soon}\n      e: {type: string, enum: [a, b], default: c}\n",
			want: []string{
				`plugin.yaml:6:34: task x.a: field n: default: want a number, got "many"`,
				`plugin.yaml:7:36: task x.a: field d: default: "soon" is not a duration`,
				`plugin.yaml:8:48: task x.a: field e: default: "c" is not one of the enum values`,
			},
		},
		{
			name:     "syntax error",
			manifest: "name: x\ntasks:\n  x.a:\n    command: [sh\n",
			want:     []string{"plugin.yaml:4:"},
		},
		{
			name:     "no name, no tasks",
			manifest: "description: nothing\n",
			want:     []string{"plugin.yaml:1:1: no name", "plugin.yaml:1:1: no tasks"},
		},
		{
			name:     "empty",
			manifest: "",
			want:     []string{"plugin.yaml:1:1: the manifest is empty"},
		},
		{
			name:     "wrong kinds",
			manifest: "name: x\ntasks:\n  x.a:\n    command: ./a.sh\n    fields: [a, b]\n",
			want: []string{
				`plugin.yaml:4:14: task x.a: command: want a list such as [a, b], got a string`,
				`plugin.yaml:5:13: task x.a: fields: want a mapping of keys to values, got a list`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePlugin(t, t.TempDir(), tt.manifest, tt.files)
			p, err := LoadPlugin(dir)
			if err == nil {
				t.Fatalf("no error; plugin %+v", p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var me *ManifestError
			if !errors.As(err, &me) || me.File != filepath.Join(dir, ManifestFile) {
				t.Errorf("not a *ManifestError for the file: %#v", err)
			}
		})
	}
}

func TestPluginRun(t *testing.T) {
	r := NewRegistry()
	dir := cloudPlugin(t, filepath.Join(t.TempDir(), "cloud"))
	p, err := LoadPlugin(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(p); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	job := Job{
		RunID: 7, Composition: "infra", TaskID: "up", Attempt: 1, Type: "cloud.provision",
		Fields: map[string]any{
			"count": 3.0, "image": "debian", "tags": []any{"a", 1e21}, "dry-run": true,
			"labels": map[string]any{"team": "ops"}, "wait": 90 * time.Second,
		},
		Context: map[string]string{"region": "eu"},
		Workdir: ws,
	}
	var c collector
	res := r.Run(context.Background(), job, c.sink)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := map[string]string{
		"args": "--verbose", "count": "3", "image": "debian", "tags": `["a",1e+21]`, "dry_run": "true",
		"labels": `{"team":"ops"}`, "wait": "1m30s", "plugin_dir": dir, "pwd": ws,
	}
	for k, v := range want {
		if res.Outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, res.Outputs[k], v)
		}
	}
	if res.Context["cloud.instances"] != "i-1 i-2" {
		t.Errorf("context = %q", res.Context)
	}
	if got := c.texts(Stdout); len(got) != 1 || got[0] != "provisioning 3" {
		t.Errorf("stdout = %q", got)
	}
	data, err := os.ReadFile(filepath.Join(ws, "stdin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Fields  map[string]any    `json:"fields"`
		Context map[string]string `json:"context"`
		Run     struct {
			ID          int64  `json:"id"`
			Composition string `json:"composition"`
			Task        string `json:"task"`
			Attempt     int    `json:"attempt"`
		} `json:"run"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatalf("stdin %s: %v", data, err)
	}
	if in.Fields["image"] != "debian" || in.Fields["count"] != 3.0 || in.Fields["wait"] != "1m30s" ||
		in.Context["region"] != "eu" || in.Run.ID != 7 || in.Run.Composition != "infra" ||
		in.Run.Task != "up" || in.Run.Attempt != 1 {
		t.Errorf("stdin = %s", data)
	}
}

func TestFieldEnvName(t *testing.T) {
	tests := map[string]string{
		"count":     "BATON_FIELD_COUNT",
		"dry-run":   "BATON_FIELD_DRY_RUN",
		"Max_Size2": "BATON_FIELD_MAX_SIZE2",
		"a.b c":     "BATON_FIELD_A_B_C",
	}
	for in, want := range tests {
		if got := FieldEnvName(in); got != want {
			t.Errorf("FieldEnvName(%q) = %q, want %q", in, got, want)
		}
	}
}
