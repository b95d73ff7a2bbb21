// Package static holds the web UI's CSS, JavaScript and vendored
// libraries, embedded in the binary and served under content-hashed URLs
// (/static/<hash>/<file>), so browsers may cache them for a year and still
// see every change at once.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed css js vendor img
var files embed.FS

var (
	hashesOnce sync.Once
	hashes     map[string]string // file -> short content hash
)

func loadHashes() {
	hashes = map[string]string{}
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hashes[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
}

// URL returns the URL a page should use for a file, e.g. "css/app.css"
// becomes "/static/3f2a9c1b7d4e/css/app.css".
func URL(name string) string {
	hashesOnce.Do(loadHashes)
	h, ok := hashes[name]
	if !ok {
		h = "missing"
	}
	return "/static/" + h + "/" + name
}

// Handler serves GET /static/{hash}/{file...}. A current hash gets a
// year-long immutable cache; an old hash still gets the file, uncached.
func Handler() http.Handler {
	hashesOnce.Do(loadHashes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash := r.PathValue("hash")
		name := path.Clean(r.PathValue("file"))
		b, err := files.ReadFile(name)
		if err != nil || strings.HasPrefix(name, "..") {
			http.NotFound(w, r)
			return
		}
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if hashes[name] == hash {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}
