package composition

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a composition file, with where it is.
// Line and Col count from 1; both are 0 when the problem has no place in the
// source (a composition built in code, or a problem about the whole file).
type Problem struct {
	File    string
	Line    int
	Col     int
	Message string
	// Path is the key the problem concerns, such as "tasks.2.with.url",
	// when that is not the key found at Line and Col: a missing required
	// field has no place of its own in the file.
	Path string
}

// String formats the problem as "file:line:col: message", or "file: message"
// when it has no position.
func (p Problem) String() string {
	file := p.File
	if file == "" {
		file = "<input>"
	}
	if p.Line == 0 {
		return file + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, p.Line, p.Col, p.Message)
}

// Problems is every problem found in a composition. It implements error so
// that Load can return it; the text is one problem per line, sorted by
// position.
type Problems []Problem

// Error formats the problems one per line, sorted by position.
func (ps Problems) Error() string {
	sorted := slices.Clone(ps)
	sorted.Sort()
	lines := make([]string, len(sorted))
	for i, p := range sorted {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by file, then position; problems without a
// position come first within their file. The order of problems at the same
// place is kept.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
		)
	})
}

// Err returns ps as an error, or nil when there are no problems. Use it rather
// than returning a nil Problems as an error, which would not compare equal to
// nil.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// problemList collects problems for one file.
type problemList struct {
	file  string
	probs Problems
}

// addPath is add for a problem about key path, which may have no place of
// its own in the source.
func (l *problemList) addPath(path string, pos Pos, format string, args ...any) {
	l.add(pos, format, args...)
	l.probs[len(l.probs)-1].Path = path
}

func (l *problemList) add(pos Pos, format string, args ...any) {
	l.probs = append(l.probs, Problem{
		File:    l.file,
		Line:    pos.Line,
		Col:     pos.Col,
		Message: fmt.Sprintf(format, args...),
	})
}

// DidYouMean returns `; did you mean "x"?` when one of the candidates is
// close enough to name to be a likely typo, and "" otherwise: the one hint
// of every file format Baton reads (compositions, triggers).
func DidYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// suggest returns the candidate closest to name by edit distance, or "" when
// none is close enough to be a likely typo. Ties go to the earlier candidate.
func suggest(name string, candidates []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(lower, strings.ToLower(c))
		if d > typoBudget(name, c) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// typoBudget is how many edits still count as a typo between a and b: one for
// short words, two up to seven letters, three beyond.
func typoBudget(a, b string) int {
	n := min(len(a), len(b))
	switch {
	case n <= 3:
		return 1
	case n <= 7:
		return 2
	default:
		return 3
	}
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of two neighbouring runes
// each cost one, so "verison" is one edit from "version".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Names that long are no typo of a known one; do not spend
		// time (it grows with the product of the lengths) on them.
		return max(len(ra), len(rb))
	}
	// Three rows are enough: the transposition looks two rows back.
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

// truncate shortens s to at most n runes for a message, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
