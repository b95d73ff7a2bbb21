package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"baton/composition"
	"baton/plugin"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stdout, stderr)
	plugins := envList("plugins")
	fs.Var(&plugins, "plugins", help("plugins", "a plugin directory to load (repeatable); default: plugins/ beside each file"))
	files, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	if !dirsExist(stderr, "validate", "plugins", plugins...) {
		return exitBadArgs
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "baton validate: name at least one composition file, e.g. baton validate examples/*.yaml")
		return exitBadArgs
	}
	bad := 0
	siblings := map[string][]string{} // directory: the valid compositions in it
	for _, file := range files {
		reg, err := loadPlugins(plugins, []string{filepath.Dir(file)}, "")
		if err != nil {
			warnPlugins(stderr, err)
		}
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", file, errors.Unwrap(err))
			bad++
			continue
		}
		c, err := composition.Load(file, src, reg)
		if err != nil {
			fmt.Fprintln(stderr, err)
			bad++
			continue
		}
		dir := filepath.Dir(file)
		known, ok := siblings[dir]
		if !ok {
			known = compositionsIn(dir, reg)
			siblings[dir] = known
		}
		warnings := composition.CheckCompositions(c, reg, known, "is not among the compositions of "+dir+"/")
		for _, w := range warnings {
			fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", file, w.Line, w.Col, w.Message)
		}
		if len(warnings) > 0 {
			fmt.Fprintf(stdout, "%s: ok, with %d %s\n", file, len(warnings), plural(len(warnings), "warning", "warnings"))
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", file)
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "%d of %d files have problems\n", bad, len(files))
		return exitFailed
	}
	return exitOK
}

// compositionsIn returns the names of the valid compositions in dir, the
// ones `baton run` of a file there can call.
func compositionsIn(dir string, reg *plugin.Registry) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	var names []string
	for _, m := range matches {
		src, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		if c, err := composition.Load(m, src, reg); err == nil {
			names = append(names, c.Name)
		}
	}
	return names
}

// plural returns one or many as n asks.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// loadPlugins builds a registry from the plugin search path: the explicit
// directories when given, else plugins/ in each of the beside directories
// and in the data directory.
func loadPlugins(explicit, beside []string, dataDir string) (*plugin.Registry, error) {
	reg := plugin.NewRegistry()
	dirs := explicit
	if len(dirs) == 0 {
		seen := map[string]bool{}
		for _, d := range beside {
			p := filepath.Join(d, "plugins")
			if !seen[p] {
				seen[p] = true
				dirs = append(dirs, p)
			}
		}
		if dataDir != "" {
			dirs = append(dirs, filepath.Join(dataDir, "plugins"))
		}
	}
	var errs []error
	for _, d := range dirs {
		if len(explicit) > 0 {
			if _, err := os.Stat(d); err != nil {
				errs = append(errs, fmt.Errorf("--plugins %s: %w", d, errors.Unwrap(err)))
				continue
			}
		}
		// A directory that is itself a plugin is loaded as one.
		if _, err := os.Stat(filepath.Join(d, "plugin.yaml")); err == nil {
			p, err := plugin.LoadPlugin(d)
			if err == nil {
				err = reg.Add(p)
			}
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if _, err := reg.LoadDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	return reg, errors.Join(errs...)
}

// warnPlugins reports plugins that could not be loaded. The command goes on:
// a composition that needs one of their task types reports it as unknown.
func warnPlugins(w io.Writer, err error) {
	fmt.Fprintf(w, "warning: some plugins were not loaded, so their task types are unknown:\n%v\n", err)
}
