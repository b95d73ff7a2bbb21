package yamltree

import (
	"strconv"
	"unicode/utf8"
)

// A guard reads a file the way goccy/go-yaml's scanner cuts it into
// tokens, only far enough to follow its structure: which text is a quoted
// or block scalar or a comment (and so holds no structure), where block
// maps and lists open and close by their columns, and where flow brackets
// do. It keeps a stack of open maps and lists and a few counters, so it
// costs one pass and no memory that grows with the file, and it stops at
// the first limit passed. It errs on the side of counting more than the
// parser would build, never less; text that goccy would refuse anyway may
// be counted oddly, since the parser never runs on it. Where goccy takes
// text the YAML spec does not (see startLine), the guard follows goccy:
// FuzzGuard checks it against goccy's trees.
type guard struct {
	src []byte
	lim limits
	i   int // offset of the next byte
	pos Pos // of src[i]

	// goccy's scanner state.
	lastDelim      int  // a line must start right of this column to stay inside the value above
	seqNum, mapNum int  // open flow lists and maps as goccy counts them
	buf            bool // a plain scalar, or an anchor, alias or directive name, is being read
	bufPos         Pos
	bufOff         int
	name           bool // the anchor or alias name mode of goccy (: is not a key there)
	directive      bool
	lastTok        byte // the last token: 'q' quoted scalar, ':' a key indicator, 0 another
	quotedPos      Pos  // where the last quoted scalar began
	quotedOff      int
	lineStart      bool // only spaces and tabs so far on this line
	indent         int  // spaces at the start of the line
	up             bool // the line's first character is right of lastDelim
	first          bool // the character being read is the line's first
	orphan         bool // the line's first token took the value of a key above it at its column
	fillItem       bool // the line starts at the column of an empty list item above it, inside it
	tagged         bool // a tag waits for its value, which goccy takes wherever the next node starts
	tagNest        bool // the line's first map or list is the value of a tag above it

	stack   []level
	cand    Pos // the first token since the line began or the last - ? :, at block level
	candOff int
	nodes   int
	docs    int // document markers so far
	pending pendingValue
	scalar  blockScalar

	prob Problem
	bad  bool
}

// check reports the first limit that src passes, with its place.
// Check reports the first limit src passes (MaxBytes, MaxDepth, MaxNodes
// and the others), before any parser sees it, for a caller that parses
// with another YAML reader.
func Check(src []byte) (Problem, bool) { return check(src, defaultLimits()) }

func check(src []byte, lim limits) (Problem, bool) {
	if len(src) > lim.bytes {
		return Problem{Pos: posAt(src, lim.bytes), Message: "the YAML goes on past " + byteSize(lim.bytes) + " here (" +
			strconv.Itoa(len(src)) + " bytes in all); make the file smaller or split it"}, true
	}
	g := &guard{src: src, lim: lim, pos: Pos{Line: 1, Col: 1}, lineStart: true}
	g.run()
	return g.prob, g.bad
}

func (g *guard) fail(pos Pos, msg string) {
	if !g.bad {
		g.bad, g.prob = true, Problem{Pos: pos, Message: msg}
	}
}

// peek returns the character at offset i and its width; 0 past the end.
func (g *guard) peek(i int) (rune, int) {
	if i >= len(g.src) {
		return 0, 0
	}
	if c := g.src[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(g.src[i:])
}

// adv moves past one character of width w on the current line.
func (g *guard) adv(w int) {
	g.i += w
	g.pos.Col++
}

// blankAt reports whether the character at offset i ends a token the way
// goccy wants after - and key:, a space, a tab, a line end or the end.
func (g *guard) blankAt(i int) bool {
	return i >= len(g.src) || g.src[i] == ' ' || g.src[i] == '\t' || g.src[i] == '\n' || g.src[i] == '\r'
}

func (g *guard) flowMode() bool { return g.seqNum > 0 || g.mapNum > 0 }

func (g *guard) run() {
	for g.i < len(g.src) && !g.bad {
		c, w := g.peek(g.i)
		if g.lineStart {
			switch c {
			case ' ':
				g.indent++
				g.adv(w)
				continue
			case '\t':
				g.adv(w)
				continue
			case '\n', '\r':
				if g.scalar.on {
					g.scalar.blank++
					g.scalar.lines++
				}
				g.newline()
				continue
			}
			g.lineStart = false
			if g.startLine(c) {
				continue
			}
			g.first = true
		}
		first := g.first
		g.first = false
		g.char(c, w, first)
	}
	if g.bad {
		return
	}
	g.endScalar()
	g.resolve()
	for i := range g.stack {
		g.endExplicit(&g.stack[i])
	}
}

// startLine handles the first character on a line other than a space or a
// tab. It returns true when it read the whole line, as text of a block
// scalar.
func (g *guard) startLine(c rune) bool {
	if g.scalar.on {
		if g.scalar.lines > 0 && g.pos.Col == 1 && g.docMarker() || g.lastDelim != 0 && g.pos.Col <= g.lastDelim {
			g.endScalar()
			if c != ':' && !g.flowMode() {
				g.cand = Pos{} // else the block scalar was a key
			}
		} else {
			if g.scalar.indent == 0 {
				g.scalar.indent = g.pos.Col
			}
			g.scalarText()
			g.scalar.blank = 0
			g.scalar.lines++
			g.toLineEnd()
			return true
		}
	}
	g.up = g.lastDelim != 0 && g.pos.Col > g.lastDelim
	if g.lastDelim != 0 && g.pos.Col <= g.lastDelim {
		g.flush()
	}
	if g.tagged && c != '#' {
		g.tagged, g.tagNest = false, true
	} else if g.pending.on && !g.pending.flow && !g.flowMode() && c != '#' {
		switch {
		case g.pos.Col > g.pending.col:
			// The value starts on this line.
		case c == '-' && (g.blankAt(g.i+1) || g.src[g.i+1] == 0) && !g.docMarker():
			if !g.pending.colon || g.pos.Col != g.pending.col {
				g.resolve()
			} // else key: above a list at its own column, which is the value
		case g.pos.Col == g.pending.col && !g.pending.colon:
			// goccy takes what starts at the column of an empty item
			// as its value, a key too: -, then a: 1 below it, nest.
			g.fillItem = true
		case g.pos.Col == g.pending.col:
			// goccy takes a lone scalar here as the value; a key is the
			// next entry, and blockColon counts the empty value then.
			g.orphan = true
		default:
			g.resolve()
		}
	}
	return false
}

func (g *guard) newline() {
	if g.src[g.i] == '\r' && g.i+1 < len(g.src) && g.src[g.i+1] == '\n' {
		g.i++
	}
	g.i++
	if g.name || g.directive {
		g.flush()
	}
	g.name, g.directive, g.orphan, g.fillItem, g.tagNest = false, false, false, false, false
	g.pos.Line++
	g.pos.Col = 1
	g.lineStart, g.indent = true, 0
	if !g.flowMode() && !g.scalar.on {
		g.cand = Pos{}
	}
}

// char reads one character that is not the first of a block scalar's line.
func (g *guard) char(c rune, w int, first bool) {
	switch c {
	case '\n', '\r':
		g.newline()
		return
	case ' ':
		if g.name || g.directive {
			g.flush()
			g.name = false
		}
		g.adv(w)
		return
	case '\t':
		g.adv(w)
		return
	case '{', '[':
		if !g.buf || g.flowMode() {
			g.open(byte(c))
			return
		}
	case ']':
		if !g.buf || g.seqNum > 0 {
			g.close('[')
			return
		}
	case '}':
		if g.mapNum > 0 {
			g.close('{')
			return
		}
	case ',':
		if g.flowMode() {
			g.comma()
			return
		}
	case ':':
		if g.colon() {
			return
		}
	case '-':
		if first && g.pos.Col == 1 && g.docMarker() {
			g.docStart()
			return
		}
		if g.buf && first && g.up {
			g.rawFolded()
			return
		}
		// goccy reads a NUL after - as the end of the text.
		if !g.buf && (g.blankAt(g.i+1) || g.src[g.i+1] == 0) {
			g.dash()
			return
		}
	case '.':
		// goccy ends a document at exactly three dots in column 1,
		// whatever follows them.
		if g.pos.Col == 1 && g.i+3 <= len(g.src) && string(g.src[g.i:g.i+3]) == "..." && (g.i+3 == len(g.src) || g.src[g.i+3] != '.') {
			g.flush()
			g.lastTok = 0
			g.resolve()
			g.document()
			g.i += 3
			g.pos.Col += 3
			return
		}
	case '?':
		if !g.buf && g.i+1 < len(g.src) && (g.src[g.i+1] == ' ' || g.src[g.i+1] == '\t') {
			g.question()
			return
		}
	case '#':
		if prev := g.prevByte(); !g.buf || prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r' {
			g.comment(prev)
			return
		}
	case '\'', '"':
		if !g.buf {
			g.quoted(byte(c))
			return
		}
	case '|', '>':
		if !g.buf {
			g.header()
			return
		}
	case '&', '*':
		if !g.buf {
			g.flush()
			g.lastTok = 0
			g.setCand()
			if c == '*' {
				g.value(g.pos)
			}
			g.name = true
			g.adv(w)
			return
		}
	case '!':
		if !g.buf && !g.directive {
			g.tag()
			return
		}
	case '%':
		if !g.buf && g.indent == 0 {
			g.flush()
			g.lastTok = 0
			g.directive = true
			g.adv(w)
			return
		}
	case '<':
		if g.mergeKey() {
			g.buf = false
			g.lastDelim = g.pos.Col
			g.lastTok = 0
			g.setCand()
			g.value(g.pos)
			g.i += 2
			g.pos.Col += 2
			return
		}
	}
	g.plain(w)
}

func (g *guard) prevByte() byte {
	if g.i == 0 {
		return 0
	}
	return g.src[g.i-1]
}

// plain reads a character of a plain scalar, or of an anchor, alias or
// directive name.
func (g *guard) plain(w int) {
	if !g.buf {
		g.buf, g.bufPos, g.bufOff = true, g.pos, g.i
		if !g.name && !g.directive {
			g.setCand()
			g.value(g.pos)
		}
	}
	g.adv(w)
}

// flush ends the token being read, as goccy does before the next one.
func (g *guard) flush() {
	if g.buf {
		g.buf = false
		g.lastTok = 0
	}
}

// setCand notes where the first token since the last - ? or : began: a key
// found later on the line starts there.
func (g *guard) setCand() {
	if g.cand.Line == 0 && !g.flowMode() {
		g.cand, g.candOff = g.pos, g.i
	}
}
