package agentd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/protocol"
)

func readAll(t *testing.T, o *outbox, from int64, maxBytes int64) []string {
	t.Helper()
	var out []string
	for {
		lines, err := o.read(from, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			return out
		}
		for _, l := range lines {
			out = append(out, l.Text)
		}
		from += int64(len(lines))
	}
}

func wantCounted(t *testing.T, got []string, first, last int) {
	t.Helper()
	if len(got) != last-first+1 {
		t.Fatalf("%d lines, want %d to %d", len(got), first, last)
	}
	for i, text := range got {
		if want := fmt.Sprintf("line %d", first+i); text != want {
			t.Fatalf("got %q, want %q", text, want)
		}
	}
}

func TestOutboxSpillsAndReadsBack(t *testing.T) {
	b := &budget{limit: 1000}
	o := newOutbox(filepath.Join(t.TempDir(), "job"), b)
	for i := 1; i <= 100; i++ {
		o.append(1, time.Now(), fmt.Sprintf("line %d", i))
	}
	first, last := o.spilled()
	if first != 1 || last < 50 || b.used.Load() > 1000 {
		t.Fatalf("spilled %d..%d, %d bytes in memory", first, last, b.used.Load())
	}
	// Reads cross from the file into memory, in small and large steps.
	wantCounted(t, readAll(t, o, 1, 100), 1, 100)
	wantCounted(t, readAll(t, o, 1, 1<<20), 1, 100)
	wantCounted(t, readAll(t, o, 37, 1), 37, 100)

	o.ack(40)
	wantCounted(t, readAll(t, o, 41, 200), 41, 100)
	if lines, _ := o.read(40, 100); lines != nil {
		t.Error("read returned acknowledged lines")
	}
	o.ack(100)
	if _, err := os.Stat(o.path + ".lines"); !os.IsNotExist(err) {
		t.Errorf("spill file kept after every line was acknowledged: %v", err)
	}
	if b.used.Load() != 0 {
		t.Errorf("%d bytes still counted", b.used.Load())
	}
	// After the file is gone, lines go to memory again.
	o.append(1, time.Now(), "line 101")
	wantCounted(t, readAll(t, o, 101, 100), 101, 101)
}

func TestOutboxFinishAndLoad(t *testing.T) {
	dir := t.TempDir()
	b := &budget{limit: 300}
	o := newOutbox(filepath.Join(dir, "job"), b)
	for i := 1; i <= 20; i++ {
		o.append(1, time.Now(), fmt.Sprintf("line %d", i))
	}
	o.ack(5)
	if err := o.finish(&protocol.Result{JobID: "j", LogLines: 20}); err != nil {
		t.Fatal(err)
	}
	if b.used.Load() != 0 {
		t.Errorf("finish left %d bytes in memory", b.used.Load())
	}
	o.spill.Close()
	// A torn last line, as when the agent dies while writing.
	f, _ := os.OpenFile(o.path+".lines", os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":21,"stream":1,"te`)
	f.Close()

	again := newOutbox(filepath.Join(dir, "job"), &budget{limit: 1 << 20})
	if err := again.load(); err != nil {
		t.Fatal(err)
	}
	first, last := again.spilled()
	if first > 6 || last != 20 || again.lines() != 20 {
		t.Fatalf("loaded %d..%d, %d lines", first, last, again.lines())
	}
	again.ack(5)
	wantCounted(t, readAll(t, again, 6, 50), 6, 20)
	// The numbering goes on after what was loaded.
	if seq, _ := again.append(3, time.Now(), "note"); seq != 21 {
		t.Errorf("next line is %d, want 21", seq)
	}
	again.remove()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("remove left %v", entries)
	}
}

func TestOutboxRebase(t *testing.T) {
	o := newOutbox(filepath.Join(t.TempDir(), "job"), &budget{limit: 10})
	o.append(1, time.Now(), "a")
	o.rebase(7)
	if seq, _ := o.append(3, time.Now(), "note"); seq != 8 || o.lines() != 8 {
		t.Errorf("after rebase the next line is %d", seq)
	}
	if lines, _ := o.read(8, 100); len(lines) != 1 || lines[0].Text != "note" {
		t.Errorf("read = %v", lines)
	}
}

func TestEncodeLogSplitsWhatEscapingInflates(t *testing.T) {
	// 64 KiB of a control character is 384 KiB once JSON-escaped (\u0001):
	// four such lines fit in MaxLogBytes of text but not in MaxMessageBytes.
	var lines []protocol.Line
	for range 4 {
		lines = append(lines, protocol.Line{Stream: 1, Text: strings.Repeat("\x01", 64<<10)})
	}
	data, n := encodeLog("1/t/1", 1, lines)
	if n != 2 || len(data) > protocol.MaxMessageBytes {
		t.Errorf("encoded %d lines in %d bytes", n, len(data))
	}
	// Many tiny lines: the per-line overhead counts.
	o := newOutbox(filepath.Join(t.TempDir(), "job"), &budget{limit: 1 << 30})
	for range 100_000 {
		o.append(1, time.Now(), "x")
	}
	batch, _ := o.read(1, protocol.MaxLogBytes)
	data, n = encodeLog("1/t/1", 1, batch)
	if n != len(batch) || len(data) > protocol.MaxMessageBytes {
		t.Errorf("encoded %d of %d lines in %d bytes", n, len(batch), len(data))
	}
}

func BenchmarkOutboxAppendReadAck(b *testing.B) {
	o := newOutbox(filepath.Join(b.TempDir(), "job"), &budget{limit: memoryBudget})
	text := strings.Repeat("x", 80)
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		seq, _ := o.append(1, now, text)
		if i%256 == 255 {
			o.read(seq-255, protocol.MaxLogBytes)
			o.ack(seq)
		}
	}
}
