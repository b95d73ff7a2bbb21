package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxArchiveBytes caps a plugin archive, as Archive builds it and Unpack
// accepts it.
const MaxArchiveBytes = 64 << 20

// maxUnpackedBytes caps what an archive may expand to, headers included, so
// that a small archive cannot fill a disk.
const maxUnpackedBytes = 4 * MaxArchiveBytes

// dirEntry is one file or symlink of a plugin directory.
type dirEntry struct {
	rel    string // slash-separated, relative to the directory
	mode   fs.FileMode
	target string // of a symlink
}

// listDir lists the regular files and symlinks under dir, sorted by path.
// Directories are implied by the paths; any other kind of file is an error.
func listDir(dir string) ([]dirEntry, error) {
	var out []dirEntry
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		ent := dirEntry{rel: filepath.ToSlash(rel), mode: info.Mode()}
		switch {
		case info.Mode().IsRegular():
		case info.Mode()&fs.ModeSymlink != 0:
			if ent.target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is a %s; a plugin directory holds only files, directories and symlinks", p, info.Mode().Type())
		}
		out = append(out, ent)
		return nil
	})
	slices.SortFunc(out, func(a, b dirEntry) int { return strings.Compare(a.rel, b.rel) })
	return out, err
}

// hashMode is the part of a file's mode that counts in a hash: whether it
// is a symlink, an executable file or another file. Other permission bits
// vary with the umask of whoever copied the files, so they are left out,
// as git does.
func hashMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "120000"
	case m.Perm()&0o111 != 0:
		return "100755"
	}
	return "100644"
}

// Hash returns the sha256, in hex, of the files under dir: for each file
// and symlink in path order, its slash-separated relative path, its mode
// (symlink, executable or not) and its contents or link target. Nothing is
// skipped. The same files give the same hash on any machine, so a plugin is
// named by its content.
func Hash(dir string) (string, error) {
	entries, err := listDir(dir)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	h := sha256.New()
	for _, e := range entries {
		if err := hashEntry(h, dir, e); err != nil {
			return "", fmt.Errorf("hash %s: %s: %w", dir, e.rel, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashEntry writes one entry to the hash as: path NUL mode NUL size NUL
// content. The size keeps the framing unambiguous.
func hashEntry(h io.Writer, dir string, e dirEntry) error {
	if e.mode&fs.ModeSymlink != 0 {
		_, err := fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s", e.rel, hashMode(e.mode), len(e.target), e.target)
		return err
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(e.rel)))
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", e.rel, hashMode(e.mode), info.Size())
	n, err := io.Copy(h, f)
	if err == nil && n != info.Size() {
		err = errors.New("the file changed while it was read")
	}
	return err
}

// Archive returns the plugin directory as a tar.gz: its files and symlinks
// under paths relative to the directory, with their permission bits. The
// archive leaves out owners and times, so the same files give the same
// bytes. It fails when the result is over MaxArchiveBytes.
func (p *Plugin) Archive() ([]byte, error) {
	entries, err := listDir(p.Dir)
	if err != nil {
		return nil, fmt.Errorf("archive plugin %s: %w", p.Name, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.rel, Mode: int64(e.mode.Perm()), ModTime: epoch, Format: tar.FormatPAX}
		if e.mode&fs.ModeSymlink != 0 {
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.target
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("archive plugin %s: %w", p.Name, err)
			}
			continue
		}
		if err := addFile(tw, hdr, filepath.Join(p.Dir, filepath.FromSlash(e.rel))); err != nil {
			return nil, fmt.Errorf("archive plugin %s: %s: %w", p.Name, e.rel, err)
		}
		if buf.Len() > MaxArchiveBytes {
			return nil, fmt.Errorf("archive plugin %s: over %d MiB; agents cannot receive it, keep large files out of the plugin directory", p.Name, MaxArchiveBytes>>20)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("archive plugin %s: %w", p.Name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("archive plugin %s: %w", p.Name, err)
	}
	if buf.Len() > MaxArchiveBytes {
		return nil, fmt.Errorf("archive plugin %s: over %d MiB; agents cannot receive it, keep large files out of the plugin directory", p.Name, MaxArchiveBytes>>20)
	}
	return buf.Bytes(), nil
}

// addFile writes one regular file to the archive.
func addFile(tw *tar.Writer, hdr *tar.Header, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Unpack writes a plugin archive made by Archive into dir, which must not
// exist or be empty. It refuses archives over MaxArchiveBytes or expanding
// to more than four times that, entries whose path leaves dir, symlinks
// that point out of dir (followed through any other symlinks of the
// archive), and entries other than files, directories and symlinks. The
// archive is unpacked next to dir and renamed into place, so dir is either
// complete or absent.
func Unpack(data []byte, dir string) error {
	if len(data) > MaxArchiveBytes {
		return fmt.Errorf("unpack plugin: the archive is %d bytes, over the %d MiB limit", len(data), MaxArchiveBytes>>20)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("unpack plugin: %s is not empty", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("unpack plugin: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".unpack-")
	if err != nil {
		return fmt.Errorf("unpack plugin: %w", err)
	}
	if err := unpackInto(data, tmp, maxUnpackedBytes); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack plugin: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack plugin: %w", err)
	}
	os.Remove(dir) // an empty dir may stand where the plugin goes
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack plugin: %w", err)
	}
	return nil
}

// unpackInto extracts the archive into dir through an os.Root, which keeps
// every write inside dir even when the archive holds symlinks. The archive
// may expand to at most limit bytes.
func unpackInto(data []byte, dir string, limit int64) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a plugin archive (tar.gz): %w", err)
	}
	limited := &limitReader{r: zr, left: limit}
	tr := tar.NewReader(limited)
	var links []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return archiveError(limited, err)
		}
		name := path.Clean(hdr.Name)
		if !filepath.IsLocal(filepath.FromSlash(name)) || strings.Contains(hdr.Name, `\`) {
			return fmt.Errorf("entry %q leaves the plugin directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeReg:
			err = unpackFile(root, name, fs.FileMode(hdr.Mode).Perm(), tr)
		case tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) || filepath.IsAbs(hdr.Linkname) {
				return fmt.Errorf("symlink %s -> %s points out of the plugin directory", name, hdr.Linkname)
			}
			if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
				err = root.Symlink(hdr.Linkname, name)
			}
			links = append(links, name)
		case tar.TypeXGlobalHeader:
			continue
		default:
			return fmt.Errorf("entry %q: unsupported type %q; a plugin archive holds files, directories and symlinks", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return archiveError(limited, fmt.Errorf("%s: %w", name, err))
		}
	}
	// A symlink's meaning can depend on symlinks unpacked after it, so
	// they are checked once all are in place.
	for _, l := range links {
		if !staysInside(root, l) {
			target, _ := root.Readlink(l)
			return fmt.Errorf("symlink %s -> %s points out of the plugin directory", l, target)
		}
	}
	return nil
}

// unpackFile writes one regular file with exactly the given permissions.
func unpackFile(root *os.Root, name string, perm fs.FileMode, r io.Reader) error {
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// staysInside follows name inside root component by component, reading
// symlinks as it goes, and reports whether it never climbs above the root.
// Missing components count as plain directories.
func staysInside(root *os.Root, name string) bool {
	var at []string // resolved components, none a symlink
	pending := strings.Split(name, "/")
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return false
			}
			at = at[:len(at)-1]
			continue
		}
		cur := path.Join(append(at, c)...)
		info, err := root.Lstat(cur)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			at = append(at, c)
			continue
		}
		target, err := root.Readlink(cur)
		if err != nil || path.IsAbs(target) {
			return false
		}
		if hops++; hops > 64 {
			return false
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return true
}

// limitReader fails reads once more than left bytes have been read.
type limitReader struct {
	r    io.Reader
	left int64
}

// errTooBig is what an archive that expands too much fails with.
var errTooBig = errors.New("the archive expands to more than its limit of " + strconv.Itoa(maxUnpackedBytes>>20) + " MiB")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// archiveError prefers the size limit as the reason an archive failed.
func archiveError(l *limitReader, err error) error {
	if l.left <= 0 {
		return errTooBig
	}
	return err
}
