package agentd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"baton/plugin"
	"baton/protocol"
)

// fetchTimeout bounds the download of one plugin.
const fetchTimeout = 5 * time.Minute

// pluginCache holds the plugins fetched from the server, under dir by
// hash, each in a registry of its own: the registry of the agent may not
// hold two plugins of one name, and an agent must run whichever version of
// a plugin a job names. Safe for concurrent use.
type pluginCache struct {
	dir    string
	server string // base URL
	token  string
	base   *plugin.Registry // the agent's registry, for its settings and its own plugins
	client *http.Client

	mu       sync.Mutex
	regs     map[string]*plugin.Registry // by plugin hash
	fetching map[string]chan struct{}    // closed when the fetch of a hash ends
}

func newPluginCache(dir, server, token string, base *plugin.Registry) *pluginCache {
	return &pluginCache{
		dir: dir, server: server, token: token, base: base,
		client:   &http.Client{Timeout: fetchTimeout},
		regs:     make(map[string]*plugin.Registry),
		fetching: make(map[string]chan struct{}),
	}
}

// loadAll loads the plugins fetched before. A directory that is not a
// plugin whose content matches its name (half written, or changed by
// hand) is removed; it is fetched again when needed.
func (c *pluginCache) loadAll(log *slog.Logger) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(c.dir, e.Name())
		if !e.IsDir() || !validHash(e.Name()) {
			log.Warn("removing a stray entry from the plugin cache", "path", path)
			os.RemoveAll(path)
			continue
		}
		p, err := plugin.LoadPlugin(path)
		if err == nil && p.Hash != e.Name() {
			err = fmt.Errorf("its content hash is now %s", p.Hash)
		}
		if err != nil {
			log.Warn("removing a broken plugin from the cache; it is fetched again when a job needs it", "path", path, "err", err)
			os.RemoveAll(path)
			continue
		}
		c.regs[p.Hash] = c.registryOf(p)
	}
}

// registryOf returns a new registry holding p, with the settings of base.
func (c *pluginCache) registryOf(p *plugin.Plugin) *plugin.Registry {
	r := plugin.NewRegistry()
	r.Grace, r.WaitDelay, r.Env = c.base.Grace, c.base.WaitDelay, c.base.Env
	r.Add(p) // a fresh registry refuses only a plugin that shadows a built-in type; its jobs then say so
	return r
}

// hashes lists the plugins the agent has.
func (c *pluginCache) hashes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for h := range c.regs {
		out = append(out, h)
	}
	for _, p := range c.base.Plugins() {
		if p.Hash != "" && !slices.Contains(out, p.Hash) {
			out = append(out, p.Hash)
		}
	}
	slices.Sort(out)
	return out
}

// registryFor returns a registry that holds the plugin ref names, fetching
// the plugin from the server when the agent lacks it. Jobs needing the
// same plugin at once share one download.
func (c *pluginCache) registryFor(ctx context.Context, ref *protocol.PluginRef) (*plugin.Registry, error) {
	if _, ok := c.base.PluginByHash(ref.Hash); ok {
		return c.base, nil
	}
	if !validHash(ref.Hash) {
		return nil, fmt.Errorf("plugin %s %s: the server sent %q, which is not a sha256 hash", ref.Name, ref.Version, ref.Hash)
	}
	for {
		c.mu.Lock()
		if r, ok := c.regs[ref.Hash]; ok {
			c.mu.Unlock()
			return r, nil
		}
		wait, busy := c.fetching[ref.Hash]
		if !busy {
			done := make(chan struct{})
			c.fetching[ref.Hash] = done
			c.mu.Unlock()
			r, err := c.fetch(ctx, ref)
			c.mu.Lock()
			if err == nil {
				c.regs[ref.Hash] = r
			}
			delete(c.fetching, ref.Hash)
			close(done)
			c.mu.Unlock()
			return r, err
		}
		c.mu.Unlock()
		select {
		case <-wait: // fetched, or failed: look again, and try ourselves if it failed
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// fetch downloads, unpacks, checks and loads one plugin.
func (c *pluginCache) fetch(ctx context.Context, ref *protocol.PluginRef) (*plugin.Registry, error) {
	what := fmt.Sprintf("plugin %s %s (%s)", ref.Name, ref.Version, short(ref.Hash))
	url := c.server + "/api/v1/agents/plugins/" + ref.Hash
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", what, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s from %s: the server answered %s", what, url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, plugin.MaxArchiveBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", what, url, err)
	}
	dir := filepath.Join(c.dir, ref.Hash)
	os.RemoveAll(dir) // what is there did not load
	if err := plugin.Unpack(data, dir); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", what, err)
	}
	p, err := plugin.LoadPlugin(dir)
	if err == nil && p.Hash != ref.Hash {
		err = fmt.Errorf("the server sent a plugin whose content hash is %s", p.Hash)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("fetch %s: %w", what, err)
	}
	return c.registryOf(p), nil
}

// close closes the registries of the fetched plugins.
func (c *pluginCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.regs {
		r.Close()
	}
}

// validHash reports whether s is a sha256 in lowercase hex, and so a safe
// directory name.
func validHash(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
