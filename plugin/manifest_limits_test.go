package plugin

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadPluginHostileYAML: a manifest 60,000 levels deep, or with a map
// of 60,000 keys, is refused before it is parsed, at its line and column.
func TestLoadPluginHostileYAML(t *testing.T) {
	var wide strings.Builder
	wide.WriteString("name: x\ntasks:\n  x.a:\n    command: [sh]\n    fields:\n")
	for i := range 60_000 {
		fmt.Fprintf(&wide, "      f%05d: {}\n", i)
	}
	tests := []struct {
		name, manifest string
		line, col      int
		msg            string
	}{
		{"60,000 levels deep", "name: x\ntasks:\n  x.a:\n    command: [sh]\n    fields:\n      f: {type: list, default: " +
			strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000) + "}\n",
			// Five maps hold the lists: the 60th [ passes the limit.
			6, 91, "values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"},
		{"60,000 keys", wide.String(),
			1006, 7, "this map holds more than 1000 keys; split it into smaller maps, or make it a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePlugin(t, t.TempDir(), tt.manifest, nil)
			_, err := LoadPlugin(dir)
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *ManifestError", err)
			}
			want := ManifestError{File: filepath.Join(dir, ManifestFile), Line: tt.line, Col: tt.col, Msg: tt.msg}
			if *me != want || err.Error() != want.Error() {
				t.Errorf("err = %v\nwant %v", err, &want)
			}
		})
	}
}
