package trigger

import (
	"fmt"
	"strconv"
	"strings"

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

// didYouMean returns `; did you mean "x"?` when a candidate is close enough
// to name to be a likely typo, and "" otherwise.
func didYouMean(name string, candidates []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(lower, strings.ToLower(c))
		if d > typoBudget(min(len(name), len(c))) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// typoBudget is how many edits still count as a typo in a word of n
// letters: one for short words, two up to seven letters, three beyond.
func typoBudget(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 7:
		return 2
	}
	return 3
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// neighbouring runes that turn a into b, so "shcedule" is one edit from
// "schedule".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Keys that long are no typo of ours; do not spend time on them.
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
