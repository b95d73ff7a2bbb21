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
		if _, err := composition.Load(file, src, reg); err != nil {
			fmt.Fprintln(stderr, err)
			bad++
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
