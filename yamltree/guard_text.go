package yamltree

import (
	"strconv"
	"unicode/utf8"
)

// This file holds what the guard skips: comments, quoted and block
// scalars, tags, document markers; and what it reports about them.

// blockScalar is the block scalar (| or >) being read.
type blockScalar struct {
	on     bool
	pos    Pos  // its header
	clip   bool // neither - nor +: goccy trims its trailing blank lines one at a time
	start  int  // offset of its first content line
	indent int  // the column its content starts at, once known
	lines  int  // lines read after the header
	blank  int  // blank lines since the last line with text
	delim  bool // lastDelim follows the text's column
}

// scalarText notes that a character of a block scalar's text was read: from
// then on a line must start at its column to stay inside it.
func (g *guard) scalarText() {
	if !g.scalar.delim {
		g.scalar.delim = true
		if g.scalar.indent > 1 {
			g.lastDelim = g.scalar.indent - 1
		}
	}
}

// posAt is the place of byte offset off.
func posAt(src []byte, off int) Pos {
	p := Pos{Line: 1, Col: 1}
	for i := 0; i < off; {
		r, w := utf8.DecodeRune(src[i:])
		if r == '\n' || r == '\r' && (i+1 >= len(src) || src[i+1] != '\n') {
			p.Line, p.Col = p.Line+1, 1
		} else if r != '\r' {
			p.Col++
		}
		i += w
	}
	return p
}

func byteSize(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + " MiB"
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// docMarker reports whether a --- or ... that separates documents starts
// at the current offset.
func (g *guard) docMarker() bool {
	if g.i+3 > len(g.src) {
		return false
	}
	s := string(g.src[g.i : g.i+3])
	return (s == "---" || s == "...") && g.blankAt(g.i+3)
}

// toLineEnd moves to the end of the line.
func (g *guard) toLineEnd() {
	for g.i < len(g.src) && g.src[g.i] != '\n' && g.src[g.i] != '\r' {
		_, w := g.peek(g.i)
		g.adv(w)
	}
}

// textLen is how many bytes text takes once read: goccy turns each byte
// that is not UTF-8 into U+FFFD, three bytes.
func textLen(text []byte) int {
	n := 0
	for len(text) > 0 {
		r, w := utf8.DecodeRune(text)
		if r == utf8.RuneError && w == 1 {
			n += 3
		} else {
			n += w
		}
		text = text[w:]
	}
	return n
}

// comment skips a comment. goccy lets one whose # follows a backslash run
// to the end of the file.
func (g *guard) comment(prev byte) {
	g.flush()
	g.lastTok = 0
	if prev == '\\' {
		for g.i < len(g.src) {
			if c := g.src[g.i]; c == '\n' || c == '\r' {
				g.newline()
			} else {
				_, w := g.peek(g.i)
				g.adv(w)
			}
		}
		return
	}
	g.toLineEnd()
}

// quoted skips a single- or double-quoted scalar, which may span lines.
func (g *guard) quoted(q byte) {
	g.setCand()
	g.quotedPos, g.quotedOff = g.pos, g.i
	g.value(g.pos)
	g.adv(1)
	for g.i < len(g.src) {
		c := g.src[g.i]
		switch {
		case c == '\n' || c == '\r':
			g.newlineInScalar()
			continue
		case q == '\'' && c == '\'':
			if g.i+1 < len(g.src) && g.src[g.i+1] == '\'' {
				g.adv(1)
				g.adv(1)
				continue
			}
		case q == '"' && c == '\\':
			g.adv(1)
			if g.i < len(g.src) {
				if c := g.src[g.i]; c == '\n' || c == '\r' {
					g.newlineInScalar()
				} else {
					_, w := g.peek(g.i)
					g.adv(w)
				}
			}
			continue
		case c != q:
			_, w := g.peek(g.i)
			g.adv(w)
			continue
		}
		g.adv(1)
		break
	}
	g.lastTok = 'q'
}

// newlineInScalar moves to the next line inside a quoted scalar.
func (g *guard) newlineInScalar() {
	if g.src[g.i] == '\r' && g.i+1 < len(g.src) && g.src[g.i+1] == '\n' {
		g.i++
	}
	g.i++
	g.pos.Line++
	g.pos.Col = 1
}

// tag skips a tag such as !!str.
func (g *guard) tag() {
	g.flush()
	g.lastTok = 0
	g.setCand()
	g.tagged = true
	for g.i < len(g.src) {
		c := g.src[g.i]
		if c == ' ' || c == '\n' || c == '\r' || c == ',' && g.flowMode() {
			break
		}
		_, w := g.peek(g.i)
		g.adv(w)
	}
}

// mergeKey reports whether a merge key (<<) starts here: two <, spaces,
// then a : followed by a space or a line end.
func (g *guard) mergeKey() bool {
	if g.i+2 > len(g.src) || g.src[g.i+1] != '<' || g.i+2 < len(g.src) && g.src[g.i+2] == '<' {
		return false
	}
	for j := g.i + 2; j < len(g.src); j++ {
		switch c := g.src[j]; {
		case c == ' ':
		case c != ':':
			return false
		case j+1 < len(g.src) && (g.src[j+1] == ' ' || g.src[j+1] == '\n' || g.src[j+1] == '\r'):
			return true
		}
	}
	return false
}

// header reads the | or > line of a block scalar; its text follows on the
// next lines, which startLine reads.
func (g *guard) header() {
	g.lastTok = 0
	pos := g.pos
	g.setCand() // goccy takes a block scalar for a key when a : follows it
	g.value(pos)
	end := g.i + 1
	for end < len(g.src) && g.src[end] != '\n' && g.src[end] != '\r' && g.src[end] != '#' {
		end++
	}
	opt := string(g.src[g.i+1 : end])
	clip := true
	digit := 0
	for _, r := range opt {
		switch {
		case r == '-' || r == '+':
			clip = false
		case r >= '1' && r <= '9':
			digit = int(r - '0')
		}
	}
	if pos.Col == 1 {
		g.lastDelim = 1
	}
	g.scalar = blockScalar{on: true, pos: pos, clip: clip}
	if digit > 0 {
		g.scalar.indent = g.lastDelim + digit
	}
	g.toLineEnd()
	g.scalar.start = g.i
	if g.i < len(g.src) && g.src[g.i] == '\r' {
		g.scalar.start++
	}
	if g.scalar.start < len(g.src) && g.src[g.scalar.start] == '\n' {
		g.scalar.start++
	}
}

// rawFolded starts goccy's folded plain scalar: a line that begins with -
// right of the value above continues the plain scalar of the line before,
// and the lines after it are read as block scalar text.
func (g *guard) rawFolded() {
	g.scalar = blockScalar{on: true, pos: g.pos, indent: g.pos.Col, start: g.i, lines: 1}
	g.adv(1)
	if g.i < len(g.src) && g.src[g.i] != '\n' && g.src[g.i] != '\r' {
		g.scalarText()
	}
	g.toLineEnd()
}

// endScalar ends the block scalar being read, if any, and checks what its
// trailing blank lines cost: goccy drops them one at a time, copying the
// whole scalar each time.
func (g *guard) endScalar() {
	s := g.scalar
	if !s.on {
		return
	}
	g.scalar = blockScalar{}
	g.buf = false
	if size := g.i - s.start; s.clip && s.blank > 0 && s.blank*size > g.lim.blankTail {
		g.fail(s.pos, "this block scalar ends in "+strconv.Itoa(s.blank)+" blank lines, too many for its "+byteSize(size)+
			" of text; remove the blank lines at its end, or write |- (or >-) to drop them")
	}
}
