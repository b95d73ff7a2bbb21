package editor

import (
	"fmt"
	"testing"
)

func TestMove(t *testing.T) {
	src := "name: m\ntasks:\n  - {id: a, run: echo a}\n  - {id: b, run: echo b, needs: [a]}\n  - {id: c, run: echo c, needs: [a]}\n  - {id: d, run: echo d, needs: [b, c]}\n"
	tests := []struct {
		id    string
		delta int
		want  string
	}{
		{"b", -1, "[[a] [b] [c] [d]]"}, // beside c: a new row above its row
		{"c", 1, "[[a] [b] [c] [d]]"},  // beside b: a new row below
		{"d", -1, "[[a] [b c d]]"},     // alone: joins the row above
		{"a", 1, "[[b c a] [d]]"},      // alone: joins the row below
		{"a", -1, "[[a] [b c] [d]]"},   // already first
		{"d", 1, "[[a] [b c] [d]]"},    // already last
	}
	for _, tt := range tests {
		d := Open([]byte(src), newCatalog())
		if err := d.Move(tt.id, tt.delta); err != nil {
			t.Fatalf("Move(%s, %d): %v", tt.id, tt.delta, err)
		}
		var rows [][]string
		for _, row := range d.Rows() {
			rows = append(rows, taskIDs(row))
		}
		if got := fmt.Sprint(rows); got != tt.want {
			t.Errorf("Move(%s, %d) rows = %s, want %s\n%s", tt.id, tt.delta, got, tt.want, d.Source())
		}
		if len(d.Problems()) > 0 {
			t.Errorf("Move(%s, %d) left problems: %v", tt.id, tt.delta, d.Problems())
		}
	}
	d := Open([]byte(src), newCatalog())
	if err := d.Move("nope", 1); err == nil {
		t.Error("moving an unknown task was not refused")
	}
}
