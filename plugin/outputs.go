package plugin

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxOutputsBytes caps each of the files a task writes its outputs and
// context updates to (BATON_OUTPUT, BATON_CONTEXT).
const MaxOutputsBytes = 1 << 20

// ParseOutputs reads the outputs file syntax that tasks write to the files
// named by BATON_OUTPUT and BATON_CONTEXT:
//
//	name=value
//	name<<EOF
//	a value over
//	several lines
//	EOF
//
// A name matches ^[A-Za-z_][A-Za-z0-9_.-]*$. A value after "=" runs to the
// end of its line; a heredoc value is every line up to one that is exactly
// the delimiter, joined with "\n". Blank lines are ignored, a trailing "\r"
// is dropped from every line, and a name given twice keeps its last value.
// Errors name the file by label and the line, as in "BATON_OUTPUT line 3:
// ...", and the input may be at most MaxOutputsBytes.
func ParseOutputs(r io.Reader, label string) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxOutputsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", label, err)
	}
	if len(data) > MaxOutputsBytes {
		return nil, fmt.Errorf("%s is over %d bytes (1 MiB); write large values to a file in the workspace and put its path in %s instead", label, MaxOutputsBytes, label)
	}
	out := make(map[string]string)
	lineNo := 0
	next := func() (string, bool) {
		if len(data) == 0 {
			return "", false
		}
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		return string(bytes.TrimSuffix(line, []byte{'\r'})), true
	}
	for {
		line, ok := next()
		if !ok {
			return out, nil
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		eq := strings.IndexByte(line, '=')
		hd := strings.Index(line, "<<")
		switch {
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim := line[:hd], line[hd+2:]
			if err := checkOutputName(name); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", label, lineNo, err)
			}
			if delim == "" {
				return nil, fmt.Errorf("%s line %d: %s<< has no delimiter; write %s<<EOF, the value's lines, then EOF alone on a line", label, lineNo, name, name)
			}
			start := lineNo
			var value []string
			closed := false
			for {
				l, ok := next()
				if !ok {
					break
				}
				if l == delim {
					closed = true
					break
				}
				value = append(value, l)
			}
			if !closed {
				return nil, fmt.Errorf("%s line %d: %s<<%s is never closed; end the value with a line holding only %s", label, start, name, delim, delim)
			}
			out[name] = strings.Join(value, "\n")
		case eq >= 0:
			name := line[:eq]
			if err := checkOutputName(name); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", label, lineNo, err)
			}
			out[name] = line[eq+1:]
		default:
			return nil, fmt.Errorf("%s line %d: %q is neither name=value nor name<<DELIMITER", label, lineNo, clipForError(line))
		}
	}
}

// checkOutputName reports whether name is a valid output or context key.
func checkOutputName(name string) error {
	if !validName(name) {
		return fmt.Errorf("bad name %q: a name starts with a letter or _ and holds only letters, digits, _, . and -", clipForError(name))
	}
	return nil
}

// validName reports whether s matches ^[A-Za-z_][A-Za-z0-9_.-]*$.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// clipForError shortens s for quoting in an error message.
func clipForError(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
