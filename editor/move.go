package editor

import (
	"fmt"
	"slices"
)

// Move moves a task one place earlier (delta -1) or later (+1) through the
// places the canvas offers, which is what a drag does, for keyboard users.
// The places, top to bottom, are: alone in a new row before row k, then
// beside the tasks of row k. A task alone in its row skips the gaps around
// it (they are where it already is), so it joins the row above or below;
// a task beside others leaves its row for a new row above or below it. A
// task already first or last stays. Like Layout, it rebuilds the needs
// from the rows.
func (d *Doc) Move(id string, delta int) error {
	if delta != -1 && delta != 1 {
		return fmt.Errorf("a task moves one place at a time (-1 or 1), not %d", delta)
	}
	var rows [][]string
	for _, row := range d.Rows() {
		rows = append(rows, taskIDs(row))
	}
	r, i := -1, -1
	for k, row := range rows {
		if j := slices.Index(row, id); j >= 0 {
			r, i = k, j
			break
		}
	}
	if r < 0 {
		return fmt.Errorf("there is no task %q to move", id)
	}
	// Place 2k is the gap before row k; 2k+1 is row k itself.
	place := 2*r + 1 + delta
	if len(rows[r]) == 1 {
		place += delta
	}
	if place < 0 || place > 2*len(rows) {
		return nil
	}
	rows[r] = slices.Delete(slices.Clone(rows[r]), i, i+1)
	var out [][]string
	for k := 0; k <= len(rows); k++ {
		if place == 2*k {
			out = append(out, []string{id})
		}
		if k == len(rows) {
			break
		}
		row := rows[k]
		if place == 2*k+1 {
			row = append(slices.Clone(row), id)
		}
		out = append(out, row)
	}
	return d.Layout(out)
}
