package plugin

import (
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrTailBytes bounds the stderr line a failed process's error carries.
const maxErrTailBytes = 240

// errTail remembers the last line a process wrote to stderr that is not
// blank, so that its failure can say more than "exit status 1". Only the
// stderr reader writes it, and it is read after the readers have ended.
type errTail struct{ last string }

// watch returns a sink that notes stderr lines and passes every line on.
func (e *errTail) watch(next Sink) Sink {
	return func(stream Stream, at time.Time, text string) {
		if stream == Stderr && strings.TrimSpace(text) != "" {
			e.last = text
		}
		next(stream, at, text)
	}
}

// describe adds the last stderr line, cleaned for a message, to an exit
// error: "exit status 1; its last line on stderr: disk full".
func (e *errTail) describe(err error) error {
	line := cleanLine(e.last)
	if line == "" {
		return err
	}
	return &exitTailError{err: err, line: line}
}

// exitTailError is an exit error with the process's last stderr line.
type exitTailError struct {
	err  error
	line string
}

func (e *exitTailError) Error() string { return e.err.Error() + "; its last line on stderr: " + e.line }
func (e *exitTailError) Unwrap() error { return e.err }

// cleanLine makes a log line fit a one-line message: terminal escape
// sequences (colours) removed, other control characters turned into
// blanks, runs of blanks made one, cut at maxErrTailBytes.
func cleanLine(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); {
		if s[i] == 0x1b { // ESC [ params final-byte, or ESC and one byte
			i++
			if i < len(s) && s[i] == '[' {
				i++
				for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
					i++
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x20 || r == 0x7f || r == ' ' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) <= maxErrTailBytes {
		return out
	}
	cut := maxErrTailBytes
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut] + "…"
}
