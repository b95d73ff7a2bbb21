package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxWorkspaceKey bounds a workspace key; real ones are
// "<composition>/<n>", a few dozen bytes.
const maxWorkspaceKey = 512

// CheckWorkspaceKey reports why key cannot name a workspace, or nil. A
// key is a relative slash-separated path of one or more components, none
// of them empty, "." or "..", with no backslash or NUL: it always names a
// directory strictly inside the workspaces directory, never that directory
// itself, a parent or an absolute path.
func CheckWorkspaceKey(key string) error {
	switch {
	case key == "":
		return errors.New("the key is empty")
	case len(key) > maxWorkspaceKey:
		return fmt.Errorf("the key is %d bytes long, over the limit of %d", len(key), maxWorkspaceKey)
	case strings.ContainsAny(key, "\\\x00"):
		return errors.New("the key holds a backslash or a NUL byte")
	case path.IsAbs(key) || filepath.IsAbs(key):
		return errors.New("the key is an absolute path")
	}
	for _, c := range strings.Split(key, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("the key has a %q component; it must name a directory inside the workspaces directory, such as <composition>/<n>", c)
		}
	}
	return nil
}

// PrepareWorkspace makes the workspace directory of key under root,
// emptied first when clean, and returns its path. It refuses a key that
// CheckWorkspaceKey refuses, and a key whose path under root passes through
// a symbolic link or something other than a directory, so that neither
// cleaning nor the task can reach outside root. Every change goes through
// an os.Root, which cannot leave root even if links appear meanwhile.
func PrepareWorkspace(root, key string, clean bool) (string, error) {
	if err := CheckWorkspaceKey(key); err != nil {
		return "", fmt.Errorf("workspace %q refused: %w", key, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("workspaces directory %s: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", fmt.Errorf("workspaces directory %s: %w", root, err)
	}
	defer r.Close()
	if err := checkRealDirs(r, root, key); err != nil {
		return "", err
	}
	if clean {
		if err := r.RemoveAll(key); err != nil {
			return "", fmt.Errorf("clean workspace %s: %w", key, err)
		}
	}
	if err := r.MkdirAll(key, 0o755); err != nil {
		return "", fmt.Errorf("create workspace %s in %s: %w", key, root, err)
	}
	return filepath.Join(root, filepath.FromSlash(key)), nil
}

// checkRealDirs refuses a key whose existing components under root are
// not all plain directories.
func checkRealDirs(r *os.Root, root, key string) error {
	comps := strings.Split(key, "/")
	for i := range comps {
		p := strings.Join(comps[:i+1], "/")
		info, err := r.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the rest is made by MkdirAll
		}
		if err != nil {
			return fmt.Errorf("workspace %q: %w", key, err)
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := r.Readlink(p)
			return fmt.Errorf("workspace %q refused: %s is a symbolic link (to %s); a workspace must be a real directory inside %s: remove the link",
				key, filepath.Join(root, filepath.FromSlash(p)), target, root)
		case !info.IsDir():
			return fmt.Errorf("workspace %q refused: %s is not a directory: remove it", key, filepath.Join(root, filepath.FromSlash(p)))
		}
	}
	return nil
}
