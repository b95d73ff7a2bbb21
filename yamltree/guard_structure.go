package yamltree

import (
	"bytes"
	"strconv"
)

// This file follows the structure: the maps and lists that keys, list
// items and flow brackets open and close, the values they hold, and the
// key paths above them.

// level is an open map or list.
type level struct {
	kind byte // 'm' block map, 's' block list, '{' flow map, '[' flow list, 'p' a key: value pair in a flow list
	col  int  // a block collection's column
	path int  // the key path length of the collection
	// child is the key path length of its current entry's value; for an
	// explicit key (? key) it is not known before the key ends, and
	// explicit holds the offset where the key began instead.
	child       int
	explicit    int
	explicitPos Pos
	items       int  // a list's items so far
	keys        int  // a map's keys so far
	colon       bool // in a flow map, the current entry has had its :
	entry       int  // in a flow map, the offset where the current entry began
}

// pendingValue is a key or list item whose value has not been seen yet;
// when none follows, the parser makes an empty value, which counts.
type pendingValue struct {
	on    bool
	flow  bool
	colon bool // after key:, where a list at the same column is the value
	col   int
}

// count adds a node and checks the limit.
func (g *guard) count(pos Pos) {
	g.nodes++
	if g.nodes > g.lim.nodes {
		g.fail(pos, "the file holds more than "+strconv.Itoa(g.lim.nodes)+" values (keys, list items and scalars); split it into smaller files")
	}
}

// value counts a node that may be the value a key or item waits for.
func (g *guard) value(pos Pos) {
	g.pending.on, g.tagged = false, false
	g.count(pos)
}

// resolve counts the empty value of a key or item that got none.
func (g *guard) resolve() {
	if g.pending.on {
		g.pending.on = false
		g.count(g.pos)
	}
}

// push opens a map or list at pos; its key path is that of the entry it
// is the value of.
func (g *guard) push(l level, pos Pos) *level {
	if len(g.stack) >= g.lim.depth {
		g.fail(pos, "values nest more than "+strconv.Itoa(g.lim.depth)+" levels deep here (maps and lists inside each other); flatten the structure")
		return &level{}
	}
	if len(g.stack) > 0 {
		l.path = g.childPath(&g.stack[len(g.stack)-1])
	}
	g.value(pos)
	g.stack = append(g.stack, l)
	return &g.stack[len(g.stack)-1]
}

func (g *guard) top() *level {
	if len(g.stack) == 0 {
		return nil
	}
	return &g.stack[len(g.stack)-1]
}

// childPath is the key path length of the current entry's value of l.
func (g *guard) childPath(l *level) int {
	if l.explicit > 0 {
		return keyPath(l.path, g.span(l.explicit))
	}
	return l.child
}

// setChild gives l's current entry a value under a key part bytes long.
func (g *guard) setChild(l *level, part int, pos Pos) {
	l.explicit = 0
	l.child = keyPath(l.path, part)
	if l.child > g.lim.keyPath {
		g.fail(pos, "the keys down to this value are more than "+strconv.Itoa(g.lim.keyPath)+" bytes long together; use shorter keys")
	}
}

// endExplicit checks the length of an explicit key of l that got no value:
// it ran up to here.
func (g *guard) endExplicit(l *level) {
	if l.explicit > 0 {
		g.setChild(l, g.span(l.explicit), l.explicitPos)
	}
}

// nextItem starts the next item of the list l.
func (g *guard) nextItem(l *level, pos Pos) {
	g.setChild(l, digits(l.items), pos)
	l.items++
}

// block handles a key (kind 'm') or a list item ('s') at block level,
// starting at pos: it closes what that column ends, and opens a new
// map or list unless it continues the one open at that column.
func (g *guard) block(kind byte, pos Pos) *level {
	if t := g.top(); g.tagNest || g.fillItem && kind == 'm' && t != nil && t.kind == 's' && t.col == pos.Col {
		g.fillItem, g.tagNest = false, false
		return g.entry(g.push(level{kind: kind, col: pos.Col}, pos), pos)
	}
	for t := g.top(); t != nil && (t.kind == 'm' || t.kind == 's'); t = g.top() {
		if t.col > pos.Col || t.col == pos.Col && kind == 'm' && t.kind == 's' {
			g.endExplicit(t)
			g.stack = g.stack[:len(g.stack)-1]
			continue
		}
		break
	}
	if t := g.top(); t != nil && t.kind == kind && t.col == pos.Col {
		g.endExplicit(t)
		return g.entry(t, pos)
	}
	return g.entry(g.push(level{kind: kind, col: pos.Col}, pos), pos)
}

// entry counts a key of the map l, at pos, against MaxKeys.
func (g *guard) entry(l *level, pos Pos) *level {
	if l.kind == 'm' || l.kind == '{' {
		if l.keys++; l.keys > g.lim.keys {
			g.fail(pos, "this map holds more than "+strconv.Itoa(g.lim.keys)+" keys; split it into smaller maps, or make it a list")
		}
	}
	return l
}

// dash is a list item indicator at block level.
func (g *guard) dash() {
	pos := g.pos
	g.lastDelim = pos.Col
	g.lastTok = 0
	if !g.flowMode() {
		l := g.block('s', pos)
		g.nextItem(l, pos)
		g.cand = Pos{}
		g.pending = pendingValue{on: true, col: pos.Col}
	}
	g.adv(1)
}

// question is an explicit key indicator (? key).
func (g *guard) question() {
	pos := g.pos
	g.lastDelim = pos.Col
	g.lastTok = 0
	g.adv(1)
	if !g.flowMode() {
		l := g.block('m', pos)
		l.explicit, l.explicitPos = g.i, pos
		g.cand = Pos{}
		g.count(pos) // the value, empty unless a : follows
	}
}

// colon handles ':' and reports whether it is a key's value indicator.
func (g *guard) colon() bool {
	if g.directive || g.name {
		return false
	}
	next := byte(0)
	if g.i+1 < len(g.src) {
		next = g.src[g.i+1]
	}
	if g.mapNum <= 0 && !g.blankAt(g.i+1) {
		return false
	}
	if g.mapNum > 0 && (next == '/' || g.lastTok == ':') {
		return false
	}
	keyPos, keyOff := g.pos, g.i
	switch {
	case g.cand.Line != 0 && !g.flowMode():
		keyPos, keyOff = g.cand, g.candOff
	case g.buf:
		keyPos, keyOff = g.bufPos, g.bufOff
	case g.lastTok == 'q':
		keyPos, keyOff = g.quotedPos, g.quotedOff
	}
	if g.buf {
		g.lastDelim = g.bufPos.Col
	} else if g.lastTok == 'q' {
		g.lastDelim = g.quotedPos.Col
	}
	indicatorOnly := !g.buf && g.lastTok != 'q' && g.cand.Line == 0
	g.flush()
	g.lastTok = ':'
	if g.flowMode() {
		g.flowColon(keyPos)
	} else {
		g.blockColon(g.span(keyOff), keyPos, indicatorOnly)
	}
	g.adv(1)
	return true
}

func (g *guard) blockColon(part int, keyPos Pos, indicatorOnly bool) {
	g.cand = Pos{}
	if g.orphan {
		g.orphan = false
		g.count(keyPos)
	}
	if t := g.top(); indicatorOnly && t != nil && t.kind == 'm' && t.explicit > 0 && t.col == keyPos.Col {
		// The value of an explicit key: ? key, then : value.
		g.setChild(t, g.span(t.explicit), keyPos)
		g.pending = pendingValue{on: true, colon: true, col: keyPos.Col}
		return
	}
	l := g.block('m', keyPos)
	g.setChild(l, part, keyPos)
	g.pending = pendingValue{on: true, colon: true, col: keyPos.Col}
}

// flowColon is a key's : in a flow collection; the key is what the entry
// holds so far.
func (g *guard) flowColon(keyPos Pos) {
	t := g.top()
	switch {
	case t == nil:
	case t.kind == '[':
		// [a: b] holds a map of one pair.
		part := g.span(t.entry)
		t = g.push(level{kind: 'p'}, keyPos)
		g.setChild(t, part, keyPos)
	case t.kind == '{' && !t.colon:
		g.setChild(t, g.span(t.entry), keyPos)
		g.entry(t, keyPos)
		t.colon = true
	}
	g.pending = pendingValue{on: true, flow: true}
}

// open reads [ or { that starts a flow collection.
func (g *guard) open(c byte) {
	g.flush()
	g.lastTok = 0
	g.setCand()
	pos := g.pos
	if c == '[' {
		g.seqNum++
	} else {
		g.mapNum++
	}
	g.adv(1)
	l := g.push(level{kind: c, entry: g.i}, pos)
	if c == '[' {
		g.nextItem(l, pos)
	}
}

// close reads ] or } that ends a flow collection. A bracket that does not
// match the innermost one leaves the depth as it is: goccy refuses that
// file, and counting it deeper is the safe mistake.
func (g *guard) close(c byte) {
	g.flush()
	g.lastTok = 0
	g.resolveFlow()
	g.keyOnly()
	if c == '[' {
		g.seqNum--
	} else {
		g.mapNum--
	}
	if t := g.top(); t != nil && t.kind == 'p' && c == '[' {
		g.stack = g.stack[:len(g.stack)-1]
	}
	if t := g.top(); t != nil && t.kind == c {
		g.stack = g.stack[:len(g.stack)-1]
	}
	g.adv(1)
}

// comma reads the , between entries of a flow collection.
func (g *guard) comma() {
	g.flush()
	g.lastTok = 0
	g.resolveFlow()
	g.keyOnly()
	pos := g.pos
	g.adv(1)
	if t := g.top(); t != nil && t.kind == 'p' {
		g.stack = g.stack[:len(g.stack)-1]
	}
	switch t := g.top(); {
	case t == nil:
	case t.kind == '[':
		g.nextItem(t, pos)
		t.entry = g.i
	case t.kind == '{':
		t.entry, t.colon = g.i, false
	}
}

// keyOnly checks the entry of a flow map that ends here without a :, as in
// {a, b}: all of it is a key, whose value is empty.
func (g *guard) keyOnly() {
	t := g.top()
	if t == nil || t.kind != '{' || t.colon {
		return
	}
	if len(bytes.TrimSpace(g.src[t.entry:g.i])) > 0 {
		g.setChild(t, g.span(t.entry), g.pos)
		g.entry(t, g.pos)
	}
}

// span is how many bytes the text from offset from to here takes once read
// (see textLen). A span longer than MaxKeyPath passes the limit whatever it
// holds, so it is not read through: keys are measured in time that does
// not grow with the file.
func (g *guard) span(from int) int {
	if n := g.i - from; n > g.lim.keyPath {
		return n
	}
	return textLen(g.src[from:g.i])
}

// resolveFlow counts the empty value of a flow key: {a: , b: c}.
func (g *guard) resolveFlow() {
	if g.pending.on && g.pending.flow {
		g.resolve()
	}
}

// docStart reads --- that starts a document.
func (g *guard) docStart() {
	g.flush()
	g.lastTok = 0
	g.resolve()
	g.document()
	g.lastDelim = 0
	g.i += 3
	g.pos.Col += 3
}

// document counts a document marker after the first: each costs the parser
// about what a value does.
func (g *guard) document() {
	if g.docs++; g.docs > 1 {
		g.count(g.pos)
	}
}

// digits is how many digits n has in decimal.
func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}
