package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHash(t *testing.T) {
	base := t.TempDir()
	a := cloudPlugin(t, filepath.Join(base, "a"))
	b := cloudPlugin(t, filepath.Join(base, "b"))
	hashA, err := Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	if hashB, _ := Hash(b); hashA != hashB {
		t.Fatalf("same files, different hashes: %s %s", hashA, hashB)
	}
	// Permission bits other than executable do not count: they follow the umask.
	if err := os.Chmod(filepath.Join(b, ManifestFile), 0o664); err != nil {
		t.Fatal(err)
	}
	if hashB, _ := Hash(b); hashA != hashB {
		t.Error("group write bit changed the hash")
	}

	tests := []struct {
		name   string
		change func(dir string) error
	}{
		{"content", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "deprovision.sh"), []byte("#!/bin/sh\necho Bye\n"), 0o755)
		}},
		{"executable bit", func(dir string) error { return os.Chmod(filepath.Join(dir, "deprovision.sh"), 0o644) }},
		{"name", func(dir string) error {
			return os.Rename(filepath.Join(dir, "deprovision.sh"), filepath.Join(dir, "deprovision2.sh"))
		}},
		{"new hidden file", func(dir string) error { return os.WriteFile(filepath.Join(dir, ".env"), nil, 0o644) }},
		{"file in a subdirectory", func(dir string) error {
			os.Mkdir(filepath.Join(dir, "lib"), 0o755)
			return os.WriteFile(filepath.Join(dir, "lib", "x"), []byte("x"), 0o644)
		}},
		{"symlink", func(dir string) error { return os.Symlink("provision.sh", filepath.Join(dir, "up.sh")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cloudPlugin(t, filepath.Join(t.TempDir(), "p"))
			if err := tt.change(dir); err != nil {
				t.Fatal(err)
			}
			h, err := Hash(dir)
			if err != nil {
				t.Fatal(err)
			}
			if h == hashA {
				t.Error("hash did not change")
			}
		})
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	dir := cloudPlugin(t, filepath.Join(t.TempDir(), "cloud"))
	if err := os.MkdirAll(filepath.Join(dir, "lib", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "lib", "deep", "data.bin"), []byte{0, 1, 2, 255}, 0o600)
	os.Symlink("../../provision.sh", filepath.Join(dir, "lib", "deep", "up"))
	p, err := LoadPlugin(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Archive()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := p.Archive()
	if !bytes.Equal(data, again) {
		t.Error("archiving twice gave different bytes")
	}
	// No absolute paths in the archive.
	zr, _ := gzip.NewReader(bytes.NewReader(data))
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if filepath.IsAbs(hdr.Name) || strings.Contains(hdr.Name, dir) {
			t.Errorf("entry %q", hdr.Name)
		}
	}

	out := filepath.Join(t.TempDir(), "cache", p.Hash)
	if err := Unpack(data, out); err != nil {
		t.Fatal(err)
	}
	h, err := Hash(out)
	if err != nil || h != p.Hash {
		t.Errorf("unpacked hash %s, %v; want %s", h, err, p.Hash)
	}
	for name, want := range map[string]os.FileMode{"provision.sh": 0o755, ManifestFile: 0o644, "lib/deep/data.bin": 0o600} {
		info, err := os.Stat(filepath.Join(out, name))
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, info.Mode().Perm(), err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(out, "lib", "deep", "up")); err != nil || target != "../../provision.sh" {
		t.Errorf("symlink -> %q, %v", target, err)
	}
	if _, err := LoadPlugin(out); err != nil {
		t.Errorf("unpacked plugin does not load: %v", err)
	}
	if err := Unpack(data, out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("unpack over a full directory: %v", err)
	}
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name, link, body string
	typ              byte
}

func makeArchive(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUnpackRefuses(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"dot-dot path", makeArchive(t, tarEntry{name: "../evil.sh", typ: tar.TypeReg, body: "x"}), `entry "../evil.sh" leaves the plugin directory`},
		{"nested dot-dot", makeArchive(t, tarEntry{name: "a/../../evil.sh", typ: tar.TypeReg}), "leaves the plugin directory"},
		{"absolute path", makeArchive(t, tarEntry{name: "/etc/evil", typ: tar.TypeReg}), "leaves the plugin directory"},
		{"absolute symlink", makeArchive(t, tarEntry{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}), "symlink l -> /etc/passwd points out"},
		{"relative symlink out", makeArchive(t, tarEntry{name: "a/l", link: "../../x", typ: tar.TypeSymlink}), "symlink a/l -> ../../x points out"},
		{"symlink out through another symlink", makeArchive(t,
			tarEntry{name: "a/s", link: "..", typ: tar.TypeSymlink},
			tarEntry{name: "l", link: "a/s/..", typ: tar.TypeSymlink},
		), "symlink l -> a/s/.. points out"},
		{"write through a symlink out", makeArchive(t,
			tarEntry{name: "a/s", link: "..", typ: tar.TypeSymlink},
			tarEntry{name: "a/s/s2", link: "..", typ: tar.TypeSymlink},
			tarEntry{name: "a/s/s2/evil", typ: tar.TypeReg, body: "x"},
		), "a/s/s2"},
		{"hard link", makeArchive(t, tarEntry{name: "h", link: "plugin.yaml", typ: tar.TypeLink}), "unsupported type"},
		{"device", makeArchive(t, tarEntry{name: "d", typ: tar.TypeChar}), "unsupported type"},
		{"too big", make([]byte, MaxArchiveBytes+1), "over the 64 MiB limit"},
		{"not an archive", []byte("hello"), "not a plugin archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "x", "plugin")
			err := Unpack(tt.data, dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s exists after a refused unpack", dir)
			}
			left, _ := os.ReadDir(filepath.Join(base, "x"))
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if entries, _ := os.ReadDir(base); len(entries) > 1 {
				t.Errorf("wrote outside: %v", entries)
			}
		})
	}
}

func TestUnpackBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	const size = 3 << 20
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
	tw.Write(make([]byte, size))
	tw.Close()
	zw.Close()
	err := unpackInto(buf.Bytes(), t.TempDir(), 1<<20)
	if !errors.Is(err, errTooBig) {
		t.Fatalf("err = %v", err)
	}
	if err := unpackInto(buf.Bytes(), t.TempDir(), 4<<20); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
}
