package agentd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"baton/yamltree"
)

// Settling a facts file that changed: see factsFiles.
const (
	// settleDelay is how long the agent waits before it reads a changed
	// facts file again.
	settleDelay = 250 * time.Millisecond
	// settleReads bounds the reads of a file that keeps changing; the
	// last one is used.
	settleReads = 4
)

// factsFiles reads facts files so that a file caught while it is being
// rewritten (truncated, not yet written again) is not sent half written:
// a file whose content differs from what the previous gather read, or that
// is new, is read again after a pause until two reads agree. Files that did
// not change cost one read. Executables are not run twice: what they print
// is their own business.
type factsFiles struct {
	// settle waits between two reads of a changed file; nil means
	// time.Sleep(settleDelay). Tests replace it.
	settle func()

	mu   sync.Mutex
	last map[string][]byte // what the previous gather read, by path
	next map[string][]byte // what this gather has read
}

// begin starts a gather.
func (f *factsFiles) begin() {
	f.mu.Lock()
	f.next = map[string][]byte{}
	f.mu.Unlock()
}

// end makes what this gather read the reference for the next one; files
// gone since are forgotten.
func (f *factsFiles) end() {
	f.mu.Lock()
	f.last, f.next = f.next, nil
	f.mu.Unlock()
}

// read returns a file's content once it has settled.
func (f *factsFiles) read(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	f.mu.Lock()
	prev, seen := f.last[path]
	f.mu.Unlock()
	if err == nil && (!seen || !bytes.Equal(prev, data)) {
		for range settleReads - 1 {
			f.wait()
			again, err2 := os.ReadFile(path)
			if err2 == nil && bytes.Equal(again, data) {
				break
			}
			data, err = again, err2
			if err != nil {
				break
			}
		}
	}
	if err == nil {
		f.mu.Lock()
		if f.next != nil {
			f.next[path] = data
		}
		f.mu.Unlock()
	}
	return data, err
}

func (f *factsFiles) wait() {
	if f.settle != nil {
		f.settle()
		return
	}
	time.Sleep(settleDelay)
}

// externalFacts reads the facts files of dir (see Facts) through files.
// Files are read and executables run at the same time; the results are
// merged in file name order.
func externalFacts(ctx context.Context, dir string, files *factsFiles, log *slog.Logger) Facts {
	files.begin()
	defer files.end()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("cannot read the facts directory", "dir", dir, "err", err)
		}
		return nil
	}
	found := make([]Facts, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		info, err := os.Stat(path) // follows symlinks
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".txt":
			wg.Go(func() { found[i] = readTextFacts(path, files, log) })
		case ".json":
			wg.Go(func() { found[i] = readObjectFacts(path, files, json.Unmarshal, log) })
		case ".yaml", ".yml":
			wg.Go(func() { found[i] = readObjectFacts(path, files, unmarshalYAML, log) })
		default:
			if info.Mode().Perm()&0o111 == 0 {
				log.Debug("skipping a file in the facts directory: not .txt, .json, .yaml or executable", "file", path)
				continue
			}
			wg.Go(func() { found[i] = runFactsCommand(ctx, path, log) })
		}
	}
	wg.Wait()
	out := Facts{}
	for _, f := range found {
		maps.Copy(out, f)
	}
	return out
}

// readTextFacts reads a key=value file.
func readTextFacts(path string, files *factsFiles, log *slog.Logger) Facts {
	data, err := files.read(path)
	if err != nil {
		log.Warn("cannot read a facts file", "file", path, "err", err)
		return nil
	}
	facts, bad := parseKeyValues(data)
	for _, n := range bad {
		log.Warn("facts file: skipping a line that is not key=value", "file", fmt.Sprintf("%s:%d", path, n))
	}
	return facts
}

// readObjectFacts reads a JSON or YAML file holding one object.
func readObjectFacts(path string, files *factsFiles, unmarshal func([]byte, any) error, log *slog.Logger) Facts {
	data, err := files.read(path)
	if err != nil {
		log.Warn("cannot read a facts file", "file", path, "err", err)
		return nil
	}
	var facts Facts
	if err := unmarshal(data, &facts); err != nil {
		log.Warn("skipping a facts file: it must hold one object of facts", "file", path, "err", err)
		return nil
	}
	// Round trip through JSON so the facts are what the server will see,
	// and anything JSON cannot carry is caught here.
	canon, err := json.Marshal(facts)
	if err == nil {
		facts = nil
		err = json.Unmarshal(canon, &facts)
	}
	if err != nil {
		log.Warn("skipping a facts file: its values cannot be sent as JSON", "file", path, "err", err)
		return nil
	}
	return facts
}

// unmarshalYAML reads a YAML facts file within yamltree's limits: a file
// nested too deep or too large is refused before the parser, whose cost
// grows with the square of the depth, sees it.
func unmarshalYAML(data []byte, v any) error {
	if p, bad := yamltree.Check(data); bad {
		return fmt.Errorf("line %d, column %d: %s", p.Pos.Line, p.Pos.Col, p.Message)
	}
	return yaml.Unmarshal(data, v)
}

// runFactsCommand runs an executable facts file and reads its standard
// output as key=value lines. A failing or slow one is logged and skipped.
func runFactsCommand(ctx context.Context, path string, log *slog.Logger) Facts {
	ctx, cancel := context.WithTimeout(ctx, factTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = filepath.Dir(path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &limitedBuffer{buf: &stderr, max: 4 << 10}
	killGroupOnCancel(cmd)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer within %s", factTimeout)
	}
	if err != nil {
		log.Warn("skipping a facts executable that failed", "file", path, "err", err, "stderr", strings.TrimSpace(stderr.String()))
		return nil
	}
	facts, bad := parseKeyValues(stdout.Bytes())
	for _, n := range bad {
		log.Warn("facts executable: skipping an output line that is not key=value", "file", path, "line", n)
	}
	return facts
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
