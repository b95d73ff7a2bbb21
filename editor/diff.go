package editor

import "strings"

// Line is one line of a diff.
type Line struct {
	Op   byte   // ' ' in both, '-' only in the old text, '+' only in the new
	Text string // without its line end
	Old  int    // line number in the old text, from 1; 0 for '+'
	New  int    // line number in the new text, from 1; 0 for '-'
}

// maxEdits bounds the work of Diff: texts that differ in more lines than
// this are shown as the old lines removed and the new ones added.
const maxEdits = 4000

// Diff returns a line diff from a to b with the fewest removed and added
// lines (Myers' algorithm), every line of both texts in order. Within a
// changed stretch the removed lines come before the added ones. A missing
// newline at the end of a text does not show.
func Diff(a, b []byte) []Line {
	x, y := splitLines(string(a)), splitLines(string(b))
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	ops := make([]byte, 0, len(x)+len(y))
	for range pre {
		ops = append(ops, ' ')
	}
	ops = append(ops, editScript(x[pre:len(x)-suf], y[pre:len(y)-suf])...)
	for range suf {
		ops = append(ops, ' ')
	}
	ops = deletesFirst(ops)

	out := make([]Line, 0, len(ops))
	i, j := 0, 0
	for _, op := range ops {
		switch op {
		case ' ':
			out = append(out, Line{Op: ' ', Text: x[i], Old: i + 1, New: j + 1})
			i++
			j++
		case '-':
			out = append(out, Line{Op: '-', Text: x[i], Old: i + 1})
			i++
		case '+':
			out = append(out, Line{Op: '+', Text: y[j], New: j + 1})
			j++
		}
	}
	return out
}

// splitLines splits text into lines without their \n (and a \r before it).
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// editScript returns the shortest edit script from a to b as ' ' (keep),
// '-' (remove from a) and '+' (add from b). It follows the furthest reaching
// path on each diagonal k = x - y for d = 0, 1, ... edits, keeping for each d
// the endpoints of diagonals -d..d so that the path can be walked back.
func editScript(a, b []string) []byte {
	n, m := len(a), len(b)
	switch {
	case n == 0 && m == 0:
		return nil
	case n == 0 || m == 0:
		return replaceAll(n, m)
	}
	limit := min(n+m, maxEdits)
	// v[k+off] is the furthest x reached on diagonal k.
	off := limit + 1
	v := make([]int, 2*off+1)
	var trace [][]int // trace[d] holds v[off-d .. off+d] after step d
	for d := 0; d <= limit; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1] // down from k+1: add b[y-1]
			} else {
				x = v[off+k-1] + 1 // right from k-1: remove a[x-1]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
				return walkBack(trace, n, m)
			}
		}
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
	}
	return replaceAll(n, m)
}

// walkBack turns the trace of editScript into the script, from the end.
func walkBack(trace [][]int, n, m int) []byte {
	// at reads v[k] as it was after step d. It is only asked for |k| <= d:
	// k == -d steps back to k+1, k == d to k-1, and other k are at most d-2
	// away from 0 (they share d's parity).
	at := func(d, k int) int { return trace[d][k+d] }
	ops := make([]byte, 0, n+m)
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		k := x - y
		var prevK int
		if k == -d || k != d && at(d-1, k-1) < at(d-1, k+1) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := at(d-1, prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			ops = append(ops, ' ')
			x--
			y--
		}
		if x == prevX {
			ops = append(ops, '+')
		} else {
			ops = append(ops, '-')
		}
		x, y = prevX, prevY
	}
	for x > 0 && y > 0 {
		ops = append(ops, ' ')
		x--
		y--
	}
	for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
		ops[i], ops[j] = ops[j], ops[i]
	}
	return ops
}

func replaceAll(n, m int) []byte {
	ops := make([]byte, 0, n+m)
	for range n {
		ops = append(ops, '-')
	}
	for range m {
		ops = append(ops, '+')
	}
	return ops
}

// deletesFirst reorders each run of changes so that its removals come
// before its additions; the diff stays valid since the two sides are
// numbered separately.
func deletesFirst(ops []byte) []byte {
	out := make([]byte, 0, len(ops))
	for i := 0; i < len(ops); {
		if ops[i] == ' ' {
			out = append(out, ' ')
			i++
			continue
		}
		j := i
		dels := 0
		for j < len(ops) && ops[j] != ' ' {
			if ops[j] == '-' {
				dels++
			}
			j++
		}
		for k := 0; k < j-i; k++ {
			if k < dels {
				out = append(out, '-')
			} else {
				out = append(out, '+')
			}
		}
		i = j
	}
	return out
}
