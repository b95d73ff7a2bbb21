package components

import "fmt"

// Graph is a run's tasks as a DAG, drawn as SVG on the server.
type Graph struct {
	Layers [][]GraphNode // tasks by dependency depth, left to right
	Edges  [][2]string   // from task id, to task id
}

// GraphNode is one task in the graph.
type GraphNode struct {
	ID     string
	Label  string
	Status string
	Meta   string // duration, or the task type while pending
	Href   string
}

// Geometry of the drawing, in SVG units.
const (
	nodeW   = 176
	nodeH   = 48
	colGap  = 56
	rowGap  = 18
	padding = 8
)

// PlacedNode is a node with its position.
type PlacedNode struct {
	GraphNode
	X, Y int
}

// Layout is a graph with positions, ready to draw.
type Layout struct {
	Width, Height int
	Nodes         []PlacedNode
	Paths         []string // SVG path data for the edges
}

// Place positions the layers in columns, each column centred vertically,
// and routes every edge as a curve from the right side of its source to
// the left side of its target.
func (g Graph) Place() Layout {
	tallest := 0
	for _, l := range g.Layers {
		tallest = max(tallest, len(l))
	}
	height := tallest*nodeH + max(tallest-1, 0)*rowGap
	var out Layout
	out.Width = len(g.Layers)*nodeW + max(len(g.Layers)-1, 0)*colGap + 2*padding
	out.Height = height + 2*padding
	at := map[string][2]int{}
	for c, layer := range g.Layers {
		h := len(layer)*nodeH + max(len(layer)-1, 0)*rowGap
		top := padding + (height-h)/2
		for r, n := range layer {
			x, y := padding+c*(nodeW+colGap), top+r*(nodeH+rowGap)
			out.Nodes = append(out.Nodes, PlacedNode{GraphNode: n, X: x, Y: y})
			at[n.ID] = [2]int{x, y}
		}
	}
	for _, e := range g.Edges {
		from, ok1 := at[e[0]]
		to, ok2 := at[e[1]]
		if !ok1 || !ok2 {
			continue
		}
		x1, y1 := from[0]+nodeW, from[1]+nodeH/2
		x2, y2 := to[0], to[1]+nodeH/2
		mid := (x1 + x2) / 2
		out.Paths = append(out.Paths, fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", x1, y1, mid, y1, mid, y2, x2, y2))
	}
	return out
}

// Clip shortens a label to fit a node.
func Clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
