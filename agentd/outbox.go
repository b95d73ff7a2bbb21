package agentd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"baton/protocol"
)

// lineOverhead is what a line costs in memory besides its text: the Line
// struct and slice slot. It also roughly covers the JSON around the text.
const lineOverhead = 64

// budget is the memory that the outboxes of all jobs may use for lines.
// Past it, an outbox that grows moves its lines to disk.
type budget struct {
	limit int64
	used  atomic.Int64
}

func (b *budget) add(n int64)    { b.used.Add(n) }
func (b *budget) over() bool     { return b.used.Load() > b.limit }
func lineSize(text string) int64 { return int64(len(text)) + lineOverhead }

// spilledLine is one line in a spill file, one JSON object per file line.
type spilledLine struct {
	Seq int64 `json:"seq"`
	protocol.Line
}

// chunk marks where a run of spilled lines starts in the spill file, so a
// read can start near the line it needs.
type chunk struct {
	seq int64
	off int64
}

// outbox keeps the lines and the result of one job until the server has
// stored them. Lines live in memory; when the shared budget is exceeded
// the outbox moves its lines to an append-only spill file, so the file
// always holds the older lines [spillFirst, spillLast] and memory the
// newer ones after spillLast. When the job ends, the lines still in
// memory are appended to the file and the result is written next to it,
// so a restarted agent can deliver both. Safe for concurrent use.
type outbox struct {
	path   string // files are path+".lines", path+".result", path+".job"
	budget *budget

	mu         sync.Mutex
	next       int64           // number of the next line
	acked      int64           // every line up to acked is stored by the server
	mem        []protocol.Line // lines after spillLast (or after acked), oldest first
	memBytes   int64
	spill      *os.File
	spillW     *bufio.Writer
	spillSize  int64 // bytes written to the file, buffered ones included
	spillFirst int64 // first line in the file; the file holds none when spillLast is 0
	spillLast  int64
	chunks     []chunk
	cursor     chunk // the start of line cursor.seq in the file, where the last read stopped
	spillErr   error // the first write error; lines then stay in memory
}

func newOutbox(path string, b *budget) *outbox {
	return &outbox{path: path, budget: b, next: 1}
}

// lines returns how many lines the job has written.
func (o *outbox) lines() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next - 1
}

// memFirst is the number of mem[0]; o.mu must be held.
func (o *outbox) memFirst() int64 { return o.next - int64(len(o.mem)) }

// append adds the next line and returns its number. It spills the
// outbox's lines to disk when the shared budget is exceeded; a failing
// disk leaves them in memory and returns the error once.
func (o *outbox) append(stream uint8, at time.Time, text string) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seq := o.next
	o.next++
	o.mem = append(o.mem, protocol.Line{Stream: stream, Time: at, Text: text})
	n := lineSize(text)
	o.memBytes += n
	o.budget.add(n)
	if o.budget.over() && o.spillErr == nil {
		if err := o.spillLocked(); err != nil {
			o.spillErr = err
			return seq, err
		}
	}
	return seq, nil
}

// spillLocked appends every line in memory to the spill file.
func (o *outbox) spillLocked() error {
	if len(o.mem) == 0 {
		return nil
	}
	if o.spill == nil {
		f, err := os.OpenFile(o.path+".lines", os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("spill log lines to disk: %w", err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("spill log lines to disk: %w", err)
		}
		o.spill, o.spillW, o.spillSize = f, bufio.NewWriterSize(f, 64<<10), info.Size()
	}
	first := o.memFirst()
	o.chunks = append(o.chunks, chunk{seq: first, off: o.spillSize})
	for i, l := range o.mem {
		data, err := json.Marshal(spilledLine{Seq: first + int64(i), Line: l})
		if err != nil {
			return err
		}
		data = append(data, '\n')
		if _, err := o.spillW.Write(data); err != nil {
			return fmt.Errorf("spill log lines to disk: %w", err)
		}
		o.spillSize += int64(len(data))
	}
	if o.spillLast == 0 {
		o.spillFirst = first
	}
	o.spillLast = o.next - 1
	o.dropMem(len(o.mem))
	return nil
}

// dropMem forgets the oldest n lines in memory.
func (o *outbox) dropMem(n int) {
	var freed int64
	for i := range n {
		freed += lineSize(o.mem[i].Text)
		o.mem[i] = protocol.Line{} // let the text go
	}
	o.mem = o.mem[n:]
	if len(o.mem) == 0 {
		o.mem = nil
	}
	o.memBytes -= freed
	o.budget.add(-freed)
}

// read returns lines from number from on, at least one and as many more
// as fit in maxBytes (counted as text plus lineOverhead each). It returns
// nothing when from is past the last line.
func (o *outbox) read(from int64, maxBytes int64) ([]protocol.Line, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if from <= o.acked || from >= o.next {
		return nil, nil
	}
	if o.spillLast > 0 && from <= o.spillLast {
		return o.readSpill(from, maxBytes)
	}
	i := from - o.memFirst()
	if i < 0 {
		return nil, fmt.Errorf("line %d is neither in memory nor on disk", from)
	}
	var out []protocol.Line
	var size int64
	for _, l := range o.mem[i:] {
		size += lineSize(l.Text)
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, l)
	}
	return out, nil
}

// readSpill reads lines from the spill file, starting where the last
// read stopped when it can.
func (o *outbox) readSpill(from int64, maxBytes int64) ([]protocol.Line, error) {
	if err := o.spillW.Flush(); err != nil {
		return nil, fmt.Errorf("read spilled log lines: %w", err)
	}
	start := o.cursor
	if start.seq != from || start.seq == 0 {
		start = chunk{}
		for _, c := range o.chunks {
			if c.seq <= from {
				start = c
			}
		}
		if start.seq == 0 {
			return nil, fmt.Errorf("line %d is not in the spill file", from)
		}
	}
	r := bufio.NewReaderSize(io.NewSectionReader(o.spill, start.off, o.spillSize-start.off), 64<<10)
	off := start.off
	var out []protocol.Line
	var size int64
	for {
		data, err := r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("read spilled log lines: %w", err)
		}
		var l spilledLine
		if err := json.Unmarshal(data, &l); err != nil {
			return nil, fmt.Errorf("read spilled log lines: %w", err)
		}
		if l.Seq >= from {
			size += lineSize(l.Text)
			if len(out) > 0 && size > maxBytes {
				break
			}
			out = append(out, l.Line)
		}
		off += int64(len(data))
		if l.Seq >= o.spillLast {
			break
		}
	}
	o.cursor = chunk{seq: from + int64(len(out)), off: off}
	return out, nil
}

// ack records that the server stored every line up to seq and frees them.
func (o *outbox) ack(seq int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ackLocked(seq)
}

func (o *outbox) ackLocked(seq int64) {
	seq = min(seq, o.next-1)
	if seq <= o.acked {
		return
	}
	o.acked = seq
	if first := o.memFirst(); seq >= first {
		o.dropMem(int(seq - first + 1))
	}
	if o.spillLast > 0 && seq >= o.spillLast {
		o.closeSpill()
		os.Remove(o.path + ".lines")
	}
}

// closeSpill closes the spill file and forgets what it held.
func (o *outbox) closeSpill() {
	if o.spill != nil {
		o.spill.Close()
	}
	o.spill, o.spillW, o.spillSize = nil, nil, 0
	o.spillFirst, o.spillLast, o.chunks, o.cursor = 0, 0, nil, chunk{}
}

// ackedUpTo returns the last line the server has stored.
func (o *outbox) ackedUpTo() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acked
}

// finish writes every unstored line and the result to disk, so that an
// agent restarted after a crash still delivers them. The result file is
// written whole or not at all.
func (o *outbox) finish(res *protocol.Result) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.spillLocked(); err != nil {
		return err
	}
	if o.spillW != nil {
		if err := o.spillW.Flush(); err != nil {
			return fmt.Errorf("write log lines to disk: %w", err)
		}
	}
	return writeFileAtomic(o.path+".result", res)
}

// rebase forgets every line and continues the numbering after seq: the
// server has stored lines up to seq and the agent has lost the rest.
func (o *outbox) rebase(seq int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropMem(len(o.mem))
	o.closeSpill()
	os.Remove(o.path + ".lines")
	o.next, o.acked = seq+1, seq
}

// remove deletes the outbox's files and frees its memory; the job is
// forgotten.
func (o *outbox) remove() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropMem(len(o.mem))
	o.closeSpill()
	for _, ext := range []string{".lines", ".result", ".job"} {
		os.Remove(o.path + ext)
	}
}

// load reads back the spill file a previous agent left: the longest run
// of consecutive lines from its start. A torn last line (the agent died
// while writing it) and anything after a break are cut off.
func (o *outbox) load() error {
	f, err := os.OpenFile(o.path+".lines", os.O_RDWR|os.O_APPEND, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var off, first, last int64
	for {
		data, err := r.ReadBytes('\n')
		if err != nil {
			break // io.EOF, or a torn line without its newline
		}
		var l spilledLine
		if json.Unmarshal(data, &l) != nil || (last > 0 && l.Seq != last+1) || l.Seq < 1 {
			break
		}
		if first == 0 {
			first = l.Seq
		}
		last = l.Seq
		off += int64(len(data))
	}
	if err := f.Truncate(off); err != nil {
		f.Close()
		return err
	}
	if last == 0 {
		f.Close()
		os.Remove(o.path + ".lines")
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.spill, o.spillW, o.spillSize = f, bufio.NewWriterSize(f, 64<<10), off
	o.spillFirst, o.spillLast = first, last
	o.chunks = []chunk{{seq: first, off: 0}}
	o.next, o.acked = last+1, first-1
	return nil
}

// spilled returns the range of lines on disk; first > last when none.
func (o *outbox) spilled() (first, last int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.spillLast == 0 {
		return o.next, o.next - 1
	}
	return o.spillFirst, o.spillLast
}

// writeFileAtomic writes v as JSON to path through a temporary file and a
// rename, so path holds the old content or the new, never a part.
func writeFileAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
