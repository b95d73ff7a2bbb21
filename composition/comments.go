package composition

import (
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"baton/yamltree"
)

// Comments are the comments of a composition file and the blank lines
// between its parts, attached to the keys and list items they were written
// at, so that FormatKeeping can write them back after the editor changed
// the composition. Places are dotted paths, as in Positions: "timeout",
// "params.version", "tasks.2", "tasks.2.with.url".
//
// A comment on lines of its own belongs to the key or list item below it
// (its head); one after a value, on the same line, to the outermost key or
// item that starts on that line. Comments above the first key that a
// blank line separates from it are the file's header; comments after the
// last value are its footer. A comment whose place the change removed (a
// deleted task) is dropped with it.
type Comments struct {
	header []string
	head   map[string][]string // whole-line comments above a place
	line   map[string]string   // the comment at the end of a place's line
	blank  map[string]bool     // a blank line came before the place (or its head)
	footer []string
}

// ReadComments collects the comments of src. It returns nil when src holds
// none and no blank lines between its parts, or cannot be read as YAML.
func ReadComments(src []byte) *Comments {
	// Reading first refuses what passes the limits, before the lexer.
	root, ok := readYAML(src, &problemList{})
	if !ok || root == nil {
		return nil
	}
	tokens := lexer.Tokenize(string(src))
	lines := map[int]string{} // line -> the outermost place starting on it
	placeLines(root, "", lines)
	starts := make([]int, 0, len(lines))
	for l := range lines {
		starts = append(starts, l)
	}
	sort.Ints(starts)
	// placeAt returns the place on the first line at or after l (after:
	// true), or on the last line at or before l.
	placeAt := func(l int, after bool) (string, int, bool) {
		i := sort.SearchInts(starts, l)
		if after {
			if i == len(starts) {
				return "", 0, false
			}
			return lines[starts[i]], starts[i], true
		}
		if i < len(starts) && starts[i] == l {
			return lines[l], l, true
		}
		if i == 0 {
			return "", 0, false
		}
		return lines[starts[i-1]], starts[i-1], true
	}

	cm := &Comments{head: map[string][]string{}, line: map[string]string{}, blank: map[string]bool{}}
	text := strings.Split(string(src), "\n")
	blankBefore := func(l int) bool { // line l-1 exists and is blank
		return l >= 2 && l-2 < len(text) && strings.TrimSpace(text[l-2]) == ""
	}
	var pending []string // whole-line comments waiting for the next place
	pendingFrom := 0     // the line of the first of them
	lastLine := 0        // the line of the last token that is not a comment
	for _, tk := range tokens {
		l := tk.Position.Line
		if tk.Type != token.CommentType {
			if len(pending) > 0 {
				if place, at, ok := placeAt(l, true); ok {
					if at == starts[0] && blankBefore(at) {
						cm.header = pending // the file's own, apart from its first key
					} else {
						cm.head[place] = append(cm.head[place], pending...)
						cm.blank[place] = blankBefore(pendingFrom)
					}
					pending = nil
				}
			}
			lastLine = max(lastLine, l)
			continue
		}
		if l == lastLine {
			if place, _, ok := placeAt(l, false); ok && cm.line[place] == "" {
				cm.line[place] = tk.Value
				continue
			}
		}
		if len(pending) == 0 {
			pendingFrom = l
		}
		pending = append(pending, tk.Value)
	}
	cm.footer = pending
	for _, l := range starts {
		if _, ok := cm.head[lines[l]]; !ok && blankBefore(l) {
			cm.blank[lines[l]] = true
		}
	}
	if len(cm.header) == 0 && len(cm.head) == 0 && len(cm.line) == 0 && len(cm.blank) == 0 && len(cm.footer) == 0 {
		return nil
	}
	return cm
}

// placeLines records, for each line where a key or list item starts, the
// outermost one's place.
func placeLines(n *yamltree.Node, path string, lines map[int]string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yamltree.Map:
		for _, e := range n.Entries {
			p := joinPath(path, e.Key)
			if _, ok := lines[e.KeyPos.Line]; !ok && e.KeyPos.Line > 0 {
				lines[e.KeyPos.Line] = p
			}
			placeLines(e.Val, p, lines)
		}
	case yamltree.List:
		for i, item := range n.Items {
			p := joinPath(path, strconv.Itoa(i))
			if _, ok := lines[item.Pos.Line]; !ok && item.Pos.Line > 0 {
				lines[item.Pos.Line] = p
			}
			placeLines(item, p, lines)
		}
	}
}

// MoveItems returns the comments for a composition whose list at path
// ("tasks", "schedules") changed: to[i] is the new index of the item that
// was at index i, or -1 when it is gone. The comments of a gone item go
// with it.
func (cm *Comments) MoveItems(list string, to []int) *Comments {
	if cm == nil {
		return nil
	}
	out := &Comments{header: cm.header, footer: cm.footer,
		head: map[string][]string{}, line: map[string]string{}, blank: map[string]bool{}}
	move := func(path string) (string, bool) {
		rest, ok := strings.CutPrefix(path, list+".")
		if !ok {
			return path, true
		}
		num, tail, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= len(to) || to[i] < 0 {
			return "", false
		}
		if tail == "" {
			return indexPath(list, to[i]), true
		}
		return indexPath(list, to[i]) + "." + tail, true
	}
	for k, v := range cm.head {
		if p, ok := move(k); ok {
			out.head[p] = v
		}
	}
	for k, v := range cm.line {
		if p, ok := move(k); ok {
			out.line[p] = v
		}
	}
	for k, v := range cm.blank {
		if p, ok := move(k); ok {
			out.blank[p] = v
		}
	}
	return out
}
