package trigger

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"baton/composition"
)

// RedactedSecret stands for a literal secret wherever a trigger's source
// is shown. A source whose secret: is exactly this (as RedactSource writes
// it) keeps the secret of the version it replaces: see KeepsSecret and
// PutSecret. That is how a trigger with a literal secret is edited
// without the secret ever being shown.
const RedactedSecret = "[redacted]"

// secretLine is a line that starts with a secret: key, and its value.
var secretLine = regexp.MustCompile(`(?m)^([ \t]*["']?secret["']?[ \t]*:[ \t]*)\S.*$`)

// KeepsSecret reports whether t's secret: is RedactedSecret: the author
// means "keep the secret that is stored".
func (t *Trigger) KeepsSecret() bool {
	return t != nil && t.SecretEnv == "" && t.Secret == RedactedSecret
}

// RedactSource returns the source of t (parsed from src) with its secret
// hidden. A literal secret's value becomes "[redacted]", quoted, so that
// the result is still a trigger file, and one that keeps the secret when
// it is saved again. Any other place the secret appears (a comment, a
// param, a block scalar that cannot be replaced whole) shows [redacted]
// too, and elsewhere reports it: saved as shown, those places would hold
// [redacted] itself. A secret read from secret_env is hidden wherever it
// appears in the file. A trigger without a secret is returned as it is.
//
// A source that is not YAML at all (t is nil) has the value of every line
// that starts with secret: hidden, since its secret cannot be known.
func RedactSource(src []byte, t *Trigger) (out string, elsewhere bool) {
	if t == nil {
		return secretLine.ReplaceAllString(string(src), `${1}"`+RedactedSecret+`"`), false
	}
	if t.Secret == "" || t.Secret == RedactedSecret {
		return string(src), false
	}
	if t.SecretEnv == "" {
		if start, end, ok := secretSpan(src, t); ok {
			before, after := string(src[:start]), string(src[end:])
			rb := strings.ReplaceAll(before, t.Secret, RedactedSecret)
			ra := strings.ReplaceAll(after, t.Secret, RedactedSecret)
			return rb + strconv.Quote(RedactedSecret) + ra, rb != before || ra != after
		}
	}
	out = strings.ReplaceAll(string(src), t.Secret, RedactedSecret)
	return out, t.SecretEnv == "" && out != string(src)
}

// PutSecret returns src (parsed as t, which KeepsSecret) with the literal
// secret of old (parsed from from, the version src replaces) in place of
// RedactedSecret: written as it was in from when it can be, so that an
// edit that leaves the secret alone changes no byte of it. The result is
// parsed again to be sure. A secret: that cannot be replaced (a block
// scalar), or an old version without a literal secret, is a problem at
// its place.
func PutSecret(src []byte, t *Trigger, from []byte, old *Trigger) ([]byte, composition.Problems) {
	pos := t.Pos["secret"]
	problem := func(msg string) composition.Problems {
		return composition.Problems{{File: t.File, Line: pos.Line, Col: pos.Col, Message: msg}}
	}
	keep := strconv.Quote(RedactedSecret)
	if old == nil || old.SecretEnv != "" || old.Secret == "" || old.Secret == RedactedSecret {
		return nil, problem(fmt.Sprintf("secret is %s, which keeps the stored secret, but there is none to keep: this trigger has no literal secret saved; write the secret, or use secret_env: NAME", keep))
	}
	start, end, ok := secretSpan(src, t)
	if !ok {
		return nil, problem(fmt.Sprintf("secret is %s, which keeps the stored secret, but it cannot be put back here; write %s on the line of secret: itself, or write the secret", keep, keep))
	}
	value := strconv.Quote(old.Secret)
	if fs, fe, ok := secretSpan(from, old); ok {
		value = string(from[fs:fe])
	}
	out := make([]byte, 0, len(src)+len(value))
	out = append(out, src[:start]...)
	out = append(out, value...)
	out = append(out, src[end:]...)
	check, _ := Parse(t.File, out, func(string) (string, bool) { return "set", true })
	if check == nil || check.Secret != old.Secret {
		return nil, problem(fmt.Sprintf("secret is %s, which keeps the stored secret, but it cannot be put back here; write the secret", keep))
	}
	return out, nil
}

// secretSpan returns where the value of t's secret: is in src, in bytes,
// when it is a scalar on one line that parses back to t.Secret once
// replaced by another quoted string.
func secretSpan(src []byte, t *Trigger) (start, end int, ok bool) {
	pos, found := t.Pos["secret"]
	if !found || pos.Line < 1 || pos.Col < 1 {
		return 0, 0, false
	}
	lineStart := 0
	for line := 1; line < pos.Line; line++ {
		i := strings.IndexByte(string(src[lineStart:]), '\n')
		if i < 0 {
			return 0, 0, false
		}
		lineStart += i + 1
	}
	lineEnd := len(src)
	if i := strings.IndexByte(string(src[lineStart:]), '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	line := src[lineStart:lineEnd]
	off := 0
	for col := 1; col < pos.Col; col++ {
		if off >= len(line) {
			return 0, 0, false
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	n, ok := scalarLen(string(line[off:]))
	if !ok {
		return 0, 0, false
	}
	start, end = lineStart+off, lineStart+off+n
	// Sure only if the file with another quoted value there reads it.
	probe := string(src[:start]) + `"baton-probe"` + string(src[end:])
	check, _ := Parse(t.File, []byte(probe), func(string) (string, bool) { return "set", true })
	if check == nil || check.Secret != "baton-probe" {
		return 0, 0, false
	}
	return start, end, true
}

// scalarLen returns how many bytes at the start of s are one scalar: a
// double- or single-quoted string closed on the line, or a plain value up
// to a comment. Block scalars (| and >) and flow collections are not.
func scalarLen(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	switch s[0] {
	case '"':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	case '\'':
		for i := 1; i < len(s); i++ {
			if s[i] != '\'' {
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1, true
		}
		return 0, false
	case '|', '>', '[', '{', '&', '*', '!':
		return 0, false
	}
	n := len(s)
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			n = i
			break
		}
	}
	return len(strings.TrimRight(s[:n], " \t\r")), true
}
