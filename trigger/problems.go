package trigger

import (
	"fmt"
	"strconv"

	"baton/composition"
	"baton/yamltree"
)

// problemList collects the problems of one file.
type problemList struct {
	file  string
	probs composition.Problems
}

// readYAML reads src into a tree, adding the problems met to probs. ok is
// false when nothing could be read; the tree is nil for an empty file.
func readYAML(src []byte, probs *problemList) (root *yamltree.Node, ok bool) {
	root, found, ok := yamltree.Read(src, "a trigger file holds one YAML document; move the one after --- to its own file")
	for _, p := range found {
		probs.add(p.Pos, "%s", p.Message)
	}
	return root, ok
}

// quote quotes s for a message, shortened to 40 runes.
func quote(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

func (l *problemList) add(pos composition.Pos, format string, args ...any) {
	l.probs = append(l.probs, composition.Problem{
		File:    l.file,
		Line:    pos.Line,
		Col:     pos.Col,
		Message: fmt.Sprintf(format, args...),
	})
}
