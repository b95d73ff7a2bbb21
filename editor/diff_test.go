package editor

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// render writes a diff compactly: "-a +b  c" style, one entry per line,
// with line numbers.
func render(lines []Line) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%c%s/%d/%d", l.Op, l.Text, l.Old, l.New)
	}
	return strings.Join(parts, " ")
}

func TestDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"both empty", "", "", ""},
		{"same", "a\nb\n", "a\nb\n", " a/1/1  b/2/2"},
		{"from empty", "", "a\nb\n", "+a/0/1 +b/0/2"},
		{"to empty", "a\nb\n", "", "-a/1/0 -b/2/0"},
		{"insert", "a\nc\n", "a\nb\nc\n", " a/1/1 +b/0/2  c/2/3"},
		{"delete", "a\nb\nc\n", "a\nc\n", " a/1/1 -b/2/0  c/3/2"},
		{"change", "a\nb\nc\n", "a\nB\nc\n", " a/1/1 -b/2/0 +B/0/2  c/3/3"},
		{"change several", "a\nb\nc\nd\n", "a\nX\nY\nd\n", " a/1/1 -b/2/0 -c/3/0 +X/0/2 +Y/0/3  d/4/4"},
		{"no final newline", "a\nb", "a\nb\n", " a/1/1  b/2/2"},
		{"crlf", "a\r\nb\r\n", "a\nb\n", " a/1/1  b/2/2"},
		{"move", "a\nb\nc\n", "b\nc\na\n", "-a/1/0  b/2/1  c/3/2 +a/0/3"},
		{"repeated lines", "x\nx\nx\n", "x\nx\n", " x/1/1  x/2/2 -x/3/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(Diff([]byte(tc.a), []byte(tc.b))); got != tc.want {
				t.Errorf("Diff\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// Random edits: the diff rebuilds both texts, numbers lines right, and is
// no longer than the edits made.
func TestDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := range 200 {
		var a []string
		for range rng.Intn(60) {
			a = append(a, fmt.Sprint("l", rng.Intn(8)))
		}
		b := append([]string(nil), a...)
		edits := rng.Intn(10)
		for range edits {
			i := 0
			if len(b) > 0 {
				i = rng.Intn(len(b) + 1)
			}
			switch {
			case rng.Intn(2) == 0 && i < len(b):
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]string{fmt.Sprint("n", rng.Intn(8))}, b[i:]...)...)
			}
		}
		lines := Diff([]byte(strings.Join(a, "\n")), []byte(strings.Join(b, "\n")))
		var gotA, gotB []string
		changes := 0
		for _, l := range lines {
			if l.Op != '+' {
				gotA = append(gotA, l.Text)
				if l.Old != len(gotA) {
					t.Fatalf("round %d: old line number %d, want %d", round, l.Old, len(gotA))
				}
			}
			if l.Op != '-' {
				gotB = append(gotB, l.Text)
				if l.New != len(gotB) {
					t.Fatalf("round %d: new line number %d, want %d", round, l.New, len(gotB))
				}
			}
			if l.Op != ' ' {
				changes++
			}
		}
		if strings.Join(gotA, "\n") != strings.Join(a, "\n") || strings.Join(gotB, "\n") != strings.Join(b, "\n") {
			t.Fatalf("round %d: the diff does not rebuild the texts", round)
		}
		if changes > edits {
			t.Fatalf("round %d: %d changed lines for %d edits", round, changes, edits)
		}
	}
}

// Two versions of an example differ by the lines an edit changed.
func TestDiffOfAnEdit(t *testing.T) {
	d := Open(readFile(t, "../examples/hello.yaml"), newCatalog())
	d.ReplaceSource(canonical(t, d))
	before := d.Source()
	if err := d.SetTask("repeat", "timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, l := range Diff(before, d.Source()) {
		if l.Op != ' ' {
			changed = append(changed, string(l.Op)+l.Text)
		}
	}
	if strings.Join(changed, "|") != "+    timeout: 1m" {
		t.Errorf("changed lines %q", changed)
	}
}

func canonical(t *testing.T, d *Doc) []byte {
	t.Helper()
	if err := d.SetSetting("name", d.Composition().Name); err != nil {
		t.Fatal(err)
	}
	return d.Source()
}

func TestDiffLarge(t *testing.T) {
	var a, b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	lines := Diff([]byte(a.String()), []byte(b.String()))
	if len(lines) != 6000 || lines[0].Op != '-' || lines[5999].Op != '+' {
		t.Errorf("%d lines", len(lines))
	}
}

// TestDiffCap: texts that differ in more lines than maxEdits are shown as
// all old lines removed and all new ones added, even where a longer search
// would find lines they share: the cap bounds the time and memory (which
// grow with the square of the edits) a hostile pair of versions costs.
func TestDiffCap(t *testing.T) {
	var a, b strings.Builder
	for i := range maxEdits/2 + 10 {
		fmt.Fprintf(&a, "old %d\nshared %d\n", i, i)
		fmt.Fprintf(&b, "new %d\nshared %d\n", i, i)
	}
	a.WriteString("end of a\n")
	b.WriteString("end of b\n")
	lines := Diff([]byte(a.String()), []byte(b.String()))
	kept := 0
	for _, l := range lines {
		if l.Op == ' ' {
			kept++
		}
	}
	if kept != 0 || len(lines) != 2*(maxEdits+21) {
		t.Errorf("%d lines, %d kept: past the cap (%d edits) the diff must replace everything", len(lines), kept, maxEdits)
	}
	// Just under the cap, the shared lines are found.
	a.Reset()
	b.Reset()
	for i := range maxEdits/2 - 10 {
		fmt.Fprintf(&a, "old %d\nshared %d\n", i, i)
		fmt.Fprintf(&b, "new %d\nshared %d\n", i, i)
	}
	lines = Diff([]byte(a.String()), []byte(b.String()))
	kept = 0
	for _, l := range lines {
		if l.Op == ' ' {
			kept++
		}
	}
	if kept != maxEdits/2-10 {
		t.Errorf("under the cap: %d lines kept, want %d", kept, maxEdits/2-10)
	}
}
