package storage

import (
	"encoding/binary"
	"errors"
	"time"

	"baton/model"
)

// A log chunk holds consecutive lines of one run. Each line is encoded as
//
//	uvarint len(task) | task | stream byte | varint µs since previous line | uvarint len(text) | text
//
// The first line's time delta is from the Unix epoch. Seq numbers are not
// stored per line: line i of a chunk has seq first_seq+i.

// appendLine encodes one line onto buf; prev is the previous line's time in µs.
func appendLine(buf []byte, l *model.LogLine, prev int64) ([]byte, int64) {
	ts := l.Time.UnixMicro()
	buf = binary.AppendUvarint(buf, uint64(len(l.TaskID)))
	buf = append(buf, l.TaskID...)
	buf = append(buf, byte(l.Stream))
	buf = binary.AppendVarint(buf, ts-prev)
	buf = binary.AppendUvarint(buf, uint64(len(l.Text)))
	buf = append(buf, l.Text...)
	return buf, ts
}

var errCorruptChunk = errors.New("corrupt log chunk")

// decodeChunk calls fn for each line of a chunk, in order, until fn returns false.
func decodeChunk(data []byte, firstSeq int64, fn func(model.LogLine) bool) error {
	var prev int64
	// Task ids repeat line after line; reuse the last string instead of
	// allocating one per line.
	var lastTask string
	for seq := firstSeq; len(data) > 0; seq++ {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return errCorruptChunk
		}
		task := data[k : k+int(n)]
		data = data[k+int(n):]
		if string(task) != lastTask {
			lastTask = string(task)
		}
		if len(data) < 1 {
			return errCorruptChunk
		}
		stream := model.Stream(data[0])
		data = data[1:]
		d, k := binary.Varint(data)
		if k <= 0 {
			return errCorruptChunk
		}
		data = data[k:]
		prev += d
		n, k = binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return errCorruptChunk
		}
		text := string(data[k : k+int(n)])
		data = data[k+int(n):]
		if !fn(model.LogLine{Seq: seq, TaskID: lastTask, Stream: stream, Time: time.UnixMicro(prev), Text: text}) {
			return nil
		}
	}
	return nil
}
