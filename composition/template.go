package composition

import (
	"fmt"
	"strings"
)

// segment is a piece of a template: literal text or one expression.
type segment struct {
	text   string // the literal text, or the expression's source
	isExpr bool
}

// Segment is a piece of a template: literal text, or the source of one
// ${{ }} expression without the blanks around it.
type Segment struct {
	Text string
	Expr bool
}

// SplitTemplate splits s into literal text and the expressions in its
// ${{ }}, as composition values are evaluated; an unclosed ${{ is an
// error.
func SplitTemplate(s string) ([]Segment, error) {
	segs, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, len(segs))
	for i, seg := range segs {
		out[i] = Segment{Text: seg.text, Expr: seg.isExpr}
	}
	return out, nil
}

// MapExprs returns s with the source of each ${{ }} expression (the text
// between the braces, blanks and all) replaced by f of it. An expression
// that is not closed is left as it is.
func MapExprs(s string, f func(src string) string) string {
	if !HasExpr(s) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		body := s[i+3:]
		end := exprEnd(body)
		if end < 0 {
			b.WriteString(body)
			return b.String()
		}
		b.WriteString(f(body[:end]))
		b.WriteString("}}")
		s = body[end+2:]
	}
}

// StringEnd returns the index just past the expression string literal
// (quoted with ", ' or `) that starts at s[i], or len(s) when it is not
// closed.
func StringEnd(s string, i int) int { return skipString(s, i) }

// HasExpr reports whether s holds a ${{ expression.
func HasExpr(s string) bool {
	return strings.Contains(s, "${{")
}

// IsSingleExpr reports whether s is one ${{ }} expression with nothing but
// blanks around it. Such a value evaluates to the expression's own value (a
// number, a list, a map); any other text holding ${{ }} evaluates to text.
func IsSingleExpr(s string) bool {
	if !HasExpr(s) {
		return false
	}
	segs, err := splitTemplate(s)
	if err != nil {
		return false
	}
	_, ok := singleExpr(segs)
	return ok
}

// splitTemplate splits s into literal text and the expressions in ${{ }}.
// An expression ends at the first "}}" outside its string literals and
// braces, so ${{ {"a": {"b": 1}} }} is one expression.
func splitTemplate(s string) ([]segment, error) {
	var segs []segment
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			if s != "" {
				segs = append(segs, segment{text: s})
			}
			return segs, nil
		}
		if i > 0 {
			segs = append(segs, segment{text: s[:i]})
		}
		body := s[i+3:]
		end := exprEnd(body)
		if end < 0 {
			return nil, fmt.Errorf("unclosed ${{ in %q; close it with }}", truncate(s[i:], 40))
		}
		segs = append(segs, segment{text: strings.TrimSpace(body[:end]), isExpr: true})
		s = body[end+2:]
	}
}

// exprEnd returns the index of the "}}" that closes an expression, or -1.
func exprEnd(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			i = skipString(s, i) - 1
		case '{':
			depth++
		case '}':
			if depth == 0 && strings.HasPrefix(s[i:], "}}") {
				return i
			}
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// skipString returns the index just past the string literal that starts at
// s[i], or len(s) when it is not closed.
func skipString(s string, i int) int {
	quote := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if quote != '`' {
				j++
			}
		case quote:
			return j + 1
		}
	}
	return len(s)
}

// singleExpr returns the expression when the template is exactly one
// expression with only blanks around it.
func singleExpr(segs []segment) (string, bool) {
	src, found := "", false
	for _, s := range segs {
		if s.isExpr {
			if found {
				return "", false
			}
			src, found = s.text, true
			continue
		}
		if strings.TrimSpace(s.text) != "" {
			return "", false
		}
	}
	return src, found
}

// rewriteHyphens rewrites member names with attached hyphens into index
// syntax; see the package comment on expressions.
func rewriteHyphens(src string) string {
	if !strings.Contains(src, "-") {
		return src
	}
	var b strings.Builder
	for i := 0; i < len(src); {
		c := src[i]
		if c == '"' || c == '\'' || c == '`' {
			j := skipString(src, i)
			b.WriteString(src[i:j])
			i = j
			continue
		}
		if c != '.' || !isMemberDot(src, i) {
			b.WriteByte(c)
			i++
			continue
		}
		start := i + 1
		end := scanIdent(src, start)
		full := end
		for full+1 < len(src) && src[full] == '-' && isIdentStart(src[full+1]) {
			next := scanIdent(src, full+1)
			if next < len(src) && src[next] == '(' {
				break // a function call: this hyphen subtracts
			}
			full = next
		}
		if full == end {
			b.WriteString(src[i:end])
			i = end
			continue
		}
		if i > 0 && src[i-1] == '?' {
			b.WriteByte('.') // keep ?. so that ?.["a-b"] stays optional
		}
		b.WriteString(`["` + src[start:full] + `"]`)
		i = full
	}
	return b.String()
}

// isMemberDot reports whether the dot at src[i] accesses a member: it follows
// a name, ] or ) (or the ? of ?.) directly and starts a name.
func isMemberDot(src string, i int) bool {
	if i == 0 || i+1 >= len(src) || !isIdentStart(src[i+1]) {
		return false
	}
	p := src[i-1]
	if p == '?' {
		return i >= 2 && (isIdentChar(src[i-2]) || src[i-2] == ']' || src[i-2] == ')')
	}
	if p == '.' {
		return false // the range operator ..
	}
	return isIdentChar(p) || p == ']' || p == ')'
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

func scanIdent(s string, i int) int {
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i
}
