package editor

import (
	"fmt"
	"slices"
	"strings"

	"baton/composition"
)

// NewPrefix starts a Layout entry that adds a task: "new:http" adds an http
// task in that place.
const NewPrefix = "new:"

// Rows returns the canvas: the tasks in rows, top to bottom, from the
// dependency layers (composition.Composition.Layers). A row of one task is a
// step, a row of several a parallel group. It is nil when the YAML cannot
// be read.
func (d *Doc) Rows() [][]*composition.Task {
	if d.comp == nil {
		return nil
	}
	return d.comp.Layers()
}

// RowComplete reports whether the needs are exactly what the rows say:
// every task of the first row needs nothing and every task of row k needs
// exactly the tasks of row k-1. When it is false, a Layout (a drag) rewrites
// needs that the rows cannot show, which the UI should warn about.
func (d *Doc) RowComplete() bool {
	return d.comp != nil && rowComplete(d.comp)
}

func rowComplete(c *composition.Composition) bool {
	if uniqueIDs(c) != nil {
		return false
	}
	var prev []string
	for _, row := range c.Layers() {
		for _, t := range row {
			if !sameSet(t.Needs, prev) {
				return false
			}
		}
		prev = taskIDs(row)
	}
	return true
}

// sameSet reports whether needs names each of want exactly once and nothing
// else.
func sameSet(needs, want []string) bool {
	if len(needs) != len(want) {
		return false
	}
	seen := make(map[string]bool, len(needs))
	for _, n := range needs {
		if seen[n] || !slices.Contains(want, n) {
			return false
		}
		seen[n] = true
	}
	return true
}

func taskIDs(tasks []*composition.Task) []string {
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	return ids
}

// uniqueIDs returns an error when a task has no id or shares it, since the
// editor's arranging actions name tasks by id.
func uniqueIDs(c *composition.Composition) error {
	seen := make(map[string]bool, len(c.Tasks))
	for i, t := range c.Tasks {
		switch {
		case t.ID == "":
			return fmt.Errorf("task %d has no id; give it one first", i+1)
		case seen[t.ID]:
			return fmt.Errorf("two tasks have the id %q; rename one first", t.ID)
		}
		seen[t.ID] = true
	}
	return nil
}

// Layout arranges the tasks in the given rows of task ids, top to bottom,
// as the client sends it after a drag: the tasks are reordered row by row,
// and every task of row k needs exactly the tasks of row k-1 (row 0 needs
// nothing). An entry "new:<type>" adds a task of that type in its place.
// Empty rows are skipped. Every task must be placed exactly once: a task
// left out, an unknown id or an id given twice is an error.
func (d *Doc) Layout(rows [][]string) error {
	return d.edit(func(c *composition.Composition) error {
		if err := uniqueIDs(c); err != nil {
			return err
		}
		taken := takenIDs(c)
		placed := map[string]bool{}
		var grid [][]*composition.Task
		for r, row := range rows {
			var out []*composition.Task
			for _, entry := range row {
				entry = strings.TrimSpace(entry)
				if typ, ok := strings.CutPrefix(entry, NewPrefix); ok {
					t, err := d.newTask(typ, taken)
					if err != nil {
						return fmt.Errorf("row %d: %w", r+1, err)
					}
					out = append(out, t)
					continue
				}
				t := c.Task(entry)
				switch {
				case t == nil:
					return fmt.Errorf("row %d: there is no task %q%s", r+1, entry, hintIDs(c))
				case placed[entry]:
					return fmt.Errorf("row %d: task %q is placed twice; place each task once", r+1, entry)
				}
				placed[entry] = true
				out = append(out, t)
			}
			if len(out) > 0 {
				grid = append(grid, out)
			}
		}
		var missing []string
		for _, t := range c.Tasks {
			if !placed[t.ID] {
				missing = append(missing, t.ID)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the layout leaves out %s; send every task of the composition", strings.Join(missing, ", "))
		}
		arrange(c, grid)
		return nil
	})
}

// hintIDs lists a composition's task ids for an error about an unknown id.
func hintIDs(c *composition.Composition) string {
	if len(c.Tasks) == 0 {
		return "; the composition has no tasks yet"
	}
	return "; the tasks are " + strings.Join(taskIDs(c.Tasks), ", ")
}

// arrange makes the tasks those of grid, row by row, each row needing the
// row before.
func arrange(c *composition.Composition, grid [][]*composition.Task) {
	c.Tasks = nil
	var prev []string
	touched := map[*composition.Task]bool{}
	for _, row := range grid {
		for _, t := range row {
			t.Needs = slices.Clone(prev)
			touched[t] = true
			c.Tasks = append(c.Tasks, t)
		}
		prev = taskIDs(row)
	}
	settle(c, touched)
}

// settle decides for the touched tasks whether needs are written. They are
// left implicit only where the file reads as a plain sequence: the first
// task needing nothing, or a task alone in its row needing only the task
// listed just before it, itself alone in its row. A fork, a join and a
// second task of the first row get explicit needs (needs: [] for the
// latter), so the YAML shows the shape.
func settle(c *composition.Composition, touched map[*composition.Task]bool) {
	rowLen := map[*composition.Task]int{}
	for _, row := range c.Layers() {
		for _, t := range row {
			rowLen[t] = len(row)
		}
	}
	for i, t := range c.Tasks {
		if !touched[t] {
			continue
		}
		implicit := false
		if i == 0 {
			implicit = len(t.Needs) == 0
		} else {
			prev := c.Tasks[i-1]
			implicit = len(t.Needs) == 1 && t.Needs[0] == prev.ID && rowLen[t] == 1 && rowLen[prev] == 1
		}
		t.NeedsGiven = !implicit
	}
}

// Add adds a task of the given type and returns its id. With parallel false
// it is a new row inserted at index row (0 puts it first, len(Rows()) last);
// with parallel true it joins row `row` beside the tasks there.
//
// Add changes only the needs around the new task, so a composition that is
// not row complete keeps its other needs: a new row needs every task of the
// row above it, and the tasks of the row below stop needing the tasks above
// and need the new task instead; a parallel task needs every task of the
// row above, and each task below that needs the whole row needs it too.
// The new task is listed before the first task of the rows below it.
func (d *Doc) Add(typ string, row int, parallel bool) (string, error) {
	var id string
	err := d.edit(func(c *composition.Composition) error {
		if err := uniqueIDs(c); err != nil {
			return err
		}
		layers := c.Layers()
		if parallel && (row < 0 || row >= len(layers)) {
			return fmt.Errorf("there is no row %d to add a parallel task to; the composition has %d row(s)", row+1, len(layers))
		}
		if !parallel && (row < 0 || row > len(layers)) {
			return fmt.Errorf("cannot add a row at position %d; the composition has %d row(s)", row+1, len(layers))
		}
		t, err := d.newTask(typ, takenIDs(c))
		if err != nil {
			return err
		}
		if parallel {
			joinRow(c, layers, row, t)
		} else {
			insertRow(c, layers, row, t)
		}
		id = t.ID
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// insertRow puts t in a new row at index r of layers (the layers of c).
func insertRow(c *composition.Composition, layers [][]*composition.Task, r int, t *composition.Task) {
	var above []string
	if r > 0 {
		above = taskIDs(layers[r-1])
	}
	t.Needs = slices.Clone(above)
	touched := map[*composition.Task]bool{t: true}
	if r < len(layers) {
		for _, u := range layers[r] {
			u.Needs = append(slices.DeleteFunc(u.Needs, func(n string) bool { return slices.Contains(above, n) }), t.ID)
			touched[u] = true
		}
	}
	insertTask(c, firstOfRows(c, layers, r), t)
	settle(c, touched)
}

// joinRow puts t beside the tasks of row r of layers (the layers of c).
func joinRow(c *composition.Composition, layers [][]*composition.Task, r int, t *composition.Task) {
	if r > 0 {
		t.Needs = taskIDs(layers[r-1])
	}
	touched := map[*composition.Task]bool{t: true}
	if r+1 < len(layers) {
		row := taskIDs(layers[r])
		for _, u := range layers[r+1] {
			if containsAll(u.Needs, row) {
				u.Needs = append(u.Needs, t.ID)
				touched[u] = true
			}
		}
	}
	insertTask(c, firstOfRows(c, layers, r+1), t)
	settle(c, touched)
}

func containsAll(list, want []string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

// firstOfRows returns the index in c.Tasks of the first task listed whose
// row is r or later, or len(c.Tasks) when there is none.
func firstOfRows(c *composition.Composition, layers [][]*composition.Task, r int) int {
	later := map[*composition.Task]bool{}
	for _, row := range layers[min(r, len(layers)):] {
		for _, t := range row {
			later[t] = true
		}
	}
	for i, t := range c.Tasks {
		if later[t] {
			return i
		}
	}
	return len(c.Tasks)
}

func insertTask(c *composition.Composition, i int, t *composition.Task) {
	c.Tasks = slices.Insert(c.Tasks, i, t)
}

// Remove removes a task. The chain closes: each task that needed it needs,
// in its place, what it needed, except tasks it already waits for through
// its other needs. References to it in expressions are left for Problems to
// report.
func (d *Doc) Remove(id string) error {
	return d.edit(func(c *composition.Composition) error {
		if err := uniqueIDs(c); err != nil {
			return err
		}
		gone := c.Task(id)
		if gone == nil {
			return noTask(c, id)
		}
		upstream := map[string][]string{}
		touched := map[*composition.Task]bool{}
		for _, u := range c.Tasks {
			if u == gone || !slices.Contains(u.Needs, id) {
				continue
			}
			var needs []string
			for _, n := range u.Needs {
				if n != id {
					needs = append(needs, n)
					continue
				}
				for _, m := range gone.Needs {
					if !slices.Contains(u.Needs, m) && !reachedThrough(c, upstream, u.Needs, id, m) && !slices.Contains(needs, m) {
						needs = append(needs, m)
					}
				}
			}
			u.Needs = needs
			touched[u] = true
		}
		c.Tasks = slices.DeleteFunc(c.Tasks, func(t *composition.Task) bool { return t == gone })
		settle(c, touched)
		return nil
	})
}

// reachedThrough reports whether task m is upstream of one of needs other
// than skip. upstream caches composition.Composition.Upstream.
func reachedThrough(c *composition.Composition, upstream map[string][]string, needs []string, skip, m string) bool {
	for _, n := range needs {
		if n == skip {
			continue
		}
		up, ok := upstream[n]
		if !ok {
			up = c.Upstream(n)
			upstream[n] = up
		}
		if slices.Contains(up, m) {
			return true
		}
	}
	return false
}

// Duplicate copies a task (its type, fields, env and other keys) into a new
// row right after the task's row, as Add would place it, and returns the
// copy's id: the task's id with a number, such as deploy_2.
func (d *Doc) Duplicate(id string) (string, error) {
	var newID string
	err := d.edit(func(c *composition.Composition) error {
		if err := uniqueIDs(c); err != nil {
			return err
		}
		t := c.Task(id)
		if t == nil {
			return noTask(c, id)
		}
		cp := cloneTask(t)
		cp.ID = numberedID(trimNumber(id), takenIDs(c), 2)
		layers := c.Layers()
		r := slices.IndexFunc(layers, func(row []*composition.Task) bool { return slices.Contains(row, t) })
		insertRow(c, layers, r+1, cp)
		newID = cp.ID
		return nil
	})
	if err != nil {
		return "", err
	}
	return newID, nil
}

// noTask is the error for an unknown task id.
func noTask(c *composition.Composition, id string) error {
	return fmt.Errorf("there is no task %q%s", id, hintIDs(c))
}

func cloneTask(t *composition.Task) *composition.Task {
	cp := *t
	cp.Needs = slices.Clone(t.Needs)
	if t.With != nil {
		cp.With = composition.CloneValue(t.With).(map[string]any)
	}
	if t.Env != nil {
		cp.Env = cloneStrings(t.Env)
	}
	cp.Requires = cloneRequires(t.Requires)
	return &cp
}

func cloneRequires(r *composition.Requires) *composition.Requires {
	if r == nil {
		return nil
	}
	cp := *r
	if r.Labels != nil {
		cp.Labels = cloneStrings(r.Labels)
	}
	if r.Local != nil {
		local := *r.Local
		cp.Local = &local
	}
	return &cp
}

func cloneStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
