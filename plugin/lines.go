package plugin

import (
	"bufio"
	"cmp"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// readBufSize is the size of the buffered reader on each output pipe. It
// is larger than MaxLineBytes so that a line at the cap arrives whole.
const readBufSize = 256 << 10

// readers recycles the pipes' buffered readers: allocating and zeroing two
// 256 KiB buffers for every task is a measurable part of starting one.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// pumpLines reads r line by line as it is written and passes every line to
// sink on the given stream: without its "\n" or "\r\n", made valid UTF-8,
// and cut at MaxLineBytes with a note saying how much was dropped. A last
// line without a newline is delivered too. It returns nil at EOF or when a
// read deadline stops it, and the read error otherwise.
//
// This is the hot path of a task's log: a line that needs no repair costs
// one string allocation and one call to sink.
func pumpLines(r io.Reader, stream Stream, sink Sink) error {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			emitLine(trimEOL(line), stream, sink)
		case errors.Is(err, bufio.ErrBufferFull):
			// An over-long line: keep its head, skip the rest up to its
			// newline without storing it.
			text, used := clipValid(line, MaxLineBytes)
			dropped := len(line) - used
			for {
				more, err := br.ReadSlice('\n')
				if errors.Is(err, bufio.ErrBufferFull) {
					dropped += len(more)
					continue
				}
				dropped += len(trimEOL(more))
				sink(stream, time.Now(), text+truncNote(dropped))
				if err != nil {
					return readEnd(err)
				}
				break
			}
		default:
			if len(line) > 0 {
				emitLine(trimEOL(line), stream, sink)
			}
			return readEnd(err)
		}
	}
}

// readEnd turns the error that ended a pipe read into pumpLines' result.
func readEnd(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// emitLine delivers one complete line, repairing it only when needed.
func emitLine(b []byte, stream Stream, sink Sink) {
	if len(b) <= MaxLineBytes && utf8.Valid(b) {
		sink(stream, time.Now(), string(b))
		return
	}
	text, used := clipValid(b, MaxLineBytes)
	if dropped := len(b) - used; dropped > 0 {
		text += truncNote(dropped)
	}
	sink(stream, time.Now(), text)
}

// trimEOL drops a trailing "\n" and then a trailing "\r".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// maxDeliveredLine is the longest line a runner delivers: MaxLineBytes of
// text and the note of a cut line.
var maxDeliveredLine = MaxLineBytes + len(truncNote(math.MaxInt64))

// CapLine cuts a line that came from elsewhere (an agent) as a runner here
// would; a line a runner already cut, note included, passes unchanged, so
// its note keeps the count of bytes it dropped.
func CapLine(text string) string {
	if len(text) <= maxDeliveredLine {
		return text
	}
	return strings.ToValidUTF8(text[:MaxLineBytes], "") + truncNote(len(text)-MaxLineBytes)
}

// truncNote is the suffix of a line cut at MaxLineBytes.
func truncNote(dropped int) string {
	return " [line truncated: " + strconv.Itoa(dropped) + " bytes dropped]"
}

// clipValid returns the longest prefix of b that fits in limit bytes once
// made valid UTF-8 (each run of invalid bytes becomes one U+FFFD), never
// splitting a rune, and how many bytes of b it used.
func clipValid(b []byte, limit int) (string, int) {
	out := make([]byte, 0, min(len(b), limit))
	i := 0
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			j := i + 1
			for j < len(b) {
				if r, size := utf8.DecodeRune(b[j:]); r != utf8.RuneError || size > 1 {
					break
				}
				j++
			}
			if len(out)+utf8.RuneLen(utf8.RuneError) > limit {
				break
			}
			out = utf8.AppendRune(out, utf8.RuneError)
			i = j
			continue
		}
		if len(out)+size > limit {
			break
		}
		out = append(out, b[i:i+size]...)
		i += size
	}
	return string(out), i
}

// masker replaces secret values with *** in log lines and error messages.
type masker struct {
	secrets  []string // longest first
	replacer *strings.Replacer
}

// newMasker returns a masker for the non-empty secrets, or nil when there
// are none. A secret that spans lines is also masked line by line, since
// the log arrives one line at a time.
func newMasker(secrets []string) *masker {
	var list []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		list = append(list, s)
		if strings.ContainsRune(s, '\n') {
			for l := range strings.SplitSeq(s, "\n") {
				if l = strings.TrimSuffix(l, "\r"); strings.TrimSpace(l) != "" {
					list = append(list, l)
				}
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	// Longest first, so that a secret holding another is masked whole;
	// equal strings end up side by side for Compact.
	slices.SortFunc(list, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	list = slices.Compact(list)
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, "***")
	}
	return &masker{secrets: list, replacer: strings.NewReplacer(pairs...)}
}

// mask returns s with every secret replaced; it does not allocate when s
// holds none.
func (m *masker) mask(s string) string {
	for _, sec := range m.secrets {
		if strings.Contains(s, sec) {
			return m.replacer.Replace(s)
		}
	}
	return s
}

// sink wraps next so that it only ever sees masked lines.
func (m *masker) sink(next Sink) Sink {
	return func(stream Stream, at time.Time, text string) {
		next(stream, at, m.mask(text))
	}
}

// err returns err with secrets masked in its message; errors.Is and
// errors.As still see the original.
func (m *masker) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := m.mask(msg); masked != msg {
		return &maskedError{msg: masked, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
