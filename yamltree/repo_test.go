package yamltree

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoYAML returns every YAML file of the repository and every ```yaml
// block of its documentation, by name.
func repoYAML(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || path == filepath.Join("testdata", "fuzz")) {
			return filepath.SkipDir
		}
		ext := filepath.Ext(path)
		if d.IsDir() || ext != ".yaml" && ext != ".yml" && ext != ".md" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if ext != ".md" {
			files[path] = src
			return nil
		}
		for i, block := range strings.Split(string(src), "```yaml\n")[1:] {
			if end := strings.Index(block, "```"); end >= 0 {
				files[path+"#"+string(rune('a'+i%26))+strings.Repeat("'", i/26)] = []byte(block[:end])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d YAML files; is the walk in the right place?", len(files))
	}
	return files
}

// TestGuardRepositoryYAML runs the guard over every YAML file the project
// holds: it refuses none, and it finds each as deep as the parser builds
// it, and about as many values.
func TestGuardRepositoryYAML(t *testing.T) {
	for name, src := range repoYAML(t) {
		if p, bad := check(src, defaultLimits()); bad {
			t.Errorf("%s: refused: %v", name, p)
			continue
		}
		root, _, ok := Read(src, "second")
		if !ok || root == nil {
			continue // a file that is broken on purpose, or empty
		}
		lim := defaultLimits()
		lim.depth = root.height
		if p, bad := check(src, lim); bad {
			t.Errorf("%s: refused at the depth the parser builds, %d: %v", name, root.height, p)
		}
		if bytes.Contains(src, []byte("*")) {
			continue // aliases nest and repeat values the guard does not see
		}
		lim.depth = root.height - 1
		if _, bad := check(src, lim); !bad && root.height > 0 {
			t.Errorf("%s: the guard finds it less deep than the parser, %d", name, root.height)
		}
		if guarded, built := counts(t, src); guarded != built {
			t.Errorf("%s: the guard counts %d values, the parser builds %d", name, guarded, built)
		}
	}
}

// counts returns how many values the guard counts in src, and how many the
// converter builds from its documents.
func counts(t *testing.T, src []byte) (guarded, built int) {
	t.Helper()
	wide := limits{bytes: 1 << 30, depth: 1 << 20, nodes: 1 << 30, keys: 1 << 30, keyPath: 1 << 30, blankTail: 1 << 40}
	g := &guard{src: src, lim: wide, pos: Pos{Line: 1, Col: 1}, lineStart: true}
	g.run()
	file, err := parse(src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, doc := range file.Docs {
		if doc != nil && doc.Body != nil {
			cv := &converter{lim: wide, anchors: map[string]*Node{}}
			cv.convert(doc.Body, 0, 0)
			built += cv.nodes
		}
	}
	return g.nodes, built
}
