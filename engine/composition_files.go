package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"baton/composition"
	"baton/model"
)

// fileAuthor is the author of versions loaded from --compositions files.
const fileAuthor = "file"

// LoadCompositionDir stores the compositions of a directory. A file is
// loaded when it differs from what was last loaded from a file: a
// composition changed since in the editor or through the API keeps that
// change across restarts until its file changes again, and one deleted
// since stays deleted. Invalid files are reported and skipped, never
// half-loaded.
func (e *Engine) LoadCompositionDir(ctx context.Context, dir string) {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		e.log.Warn("no compositions found", "dir", dir)
	}
	seen := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			e.log.Error("composition not loaded", "file", f, "err", err)
			continue
		}
		c, err := composition.Load(f, src, e.cat)
		if err != nil {
			e.log.Error("composition not loaded: fix the file and restart, or PUT it through the API", "file", f, "problems", err.Error())
			continue
		}
		if other, dup := seen[c.Name]; dup {
			e.log.Error("composition not loaded: another file has the same name", "file", f, "name", c.Name, "other", other)
			continue
		}
		seen[c.Name] = f
		versions, err := e.store.ListCompositionVersions(ctx, c.Name)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			e.log.Error("composition not loaded", "file", f, "err", err)
			continue
		}
		i := slices.IndexFunc(versions, func(v model.CompositionVersion) bool { return v.Author == fileAuthor })
		unchanged := i >= 0 && versions[i].Source == string(src)
		deleted := false
		if len(versions) > 0 {
			if _, err := e.store.GetComposition(ctx, c.Name); errors.Is(err, model.ErrNotFound) {
				deleted = true
			}
		}
		switch {
		case deleted && unchanged:
			e.log.Info("composition deleted since its file was loaded; the file is unchanged, so it stays deleted (change the file, or PUT it, to bring it back)",
				"name", c.Name, "file", f)
			continue
		case deleted:
			e.log.Info("composition file changed since the composition was deleted: loading it again", "name", c.Name, "file", f)
		case unchanged && i > 0:
			cur := versions[0]
			e.log.Info("composition file unchanged; keeping the newer version saved since", "name", c.Name, "file", f,
				"version", cur.Version, "saved_by", cur.Author)
			continue
		case i != 0 && len(versions) > 0 && versions[0].Source != string(src):
			e.log.Warn("composition file changed: it replaces the version saved since, which stays in the history", "name", c.Name, "file", f,
				"replaced_version", versions[0].Version, "saved_by", versions[0].Author)
		}
		v, created, err := e.SaveComposition(ctx, c.Name, src, fileAuthor, "loaded from "+f)
		if err != nil {
			e.log.Error("composition not loaded", "file", f, "err", err)
			continue
		}
		if created {
			e.log.Info("composition loaded", "name", v.Name, "version", v.Version, "file", f)
		}
	}
}
