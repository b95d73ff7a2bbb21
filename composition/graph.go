package composition

// Task returns the task with the given id, or nil.
func (c *Composition) Task(id string) *Task {
	for _, t := range c.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Param returns the param with the given name, or nil.
func (c *Composition) Param(name string) *Param {
	for i := range c.Params {
		if c.Params[i].Name == name {
			return &c.Params[i]
		}
	}
	return nil
}

// Layers groups the tasks into topological layers for drawing the graph: the
// first layer holds the tasks that need nothing, each later layer the tasks
// whose needs are all in earlier layers. Within a layer tasks keep file
// order. Needs naming unknown tasks are ignored; tasks caught in a
// dependency cycle (or needing one) cannot be placed and form one last
// layer, so every task appears exactly once.
func (c *Composition) Layers() [][]*Task {
	index := c.taskIndex()
	layer := make([]int, len(c.Tasks))
	for i := range layer {
		layer[i] = -1
	}
	var layers [][]*Task
	placed := 0
	for placed < len(c.Tasks) {
		var next []int
		for i, t := range c.Tasks {
			if layer[i] >= 0 {
				continue
			}
			ready := true
			for _, n := range t.Needs {
				j, ok := index[n]
				if !ok {
					continue
				}
				if layer[j] < 0 {
					ready = false
					break
				}
			}
			if ready {
				next = append(next, i)
			}
		}
		if len(next) == 0 {
			break
		}
		row := make([]*Task, len(next))
		for k, i := range next {
			layer[i] = len(layers)
			row[k] = c.Tasks[i]
		}
		layers = append(layers, row)
		placed += len(next)
	}
	var rest []*Task
	for i, t := range c.Tasks {
		if layer[i] < 0 {
			rest = append(rest, t)
		}
	}
	if len(rest) > 0 {
		layers = append(layers, rest)
	}
	return layers
}

// taskIndex maps each task id to its index; with duplicate ids the first
// wins.
func (c *Composition) taskIndex() map[string]int {
	index := make(map[string]int, len(c.Tasks))
	for i, t := range c.Tasks {
		if _, dup := index[t.ID]; !dup && t.ID != "" {
			index[t.ID] = i
		}
	}
	return index
}

// Upstream returns the ids of every task that runs before the task with the
// given id through needs, directly or not, in file order. Unknown needs are
// ignored; a task in a cycle is not its own upstream.
func (c *Composition) Upstream(id string) []string {
	index := c.taskIndex()
	start, ok := index[id]
	if !ok {
		return nil
	}
	seen := c.ancestors(start, index)
	var out []string
	for i, t := range c.Tasks {
		if seen[i] && i != start {
			out = append(out, t.ID)
		}
	}
	return out
}

// ancestors marks the tasks reachable from task i through needs.
func (c *Composition) ancestors(i int, index map[string]int) []bool {
	seen := make([]bool, len(c.Tasks))
	stack := []int{i}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, n := range c.Tasks[cur].Needs {
			j, ok := index[n]
			if ok && !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return seen
}
