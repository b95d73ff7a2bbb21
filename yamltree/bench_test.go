package yamltree

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// BenchmarkReadDeep reads the files of the security review, 60,000 levels
// deep (1,000 for the indented ways, which fill 1 MiB by then): each is
// refused where it passes MaxDepth.
func BenchmarkReadDeep(b *testing.B) {
	for _, name := range sortedKeys(nestings) {
		src, _ := nestings[name](deepest(name))
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			benchRead(b, []byte(src), false)
		})
	}
}

// BenchmarkReadWide reads maps of more and more keys: MaxKeys is the most
// one map may have, 60,000 the review's file; and lists of more and more
// items, up to the most MaxNodes lets through and past it.
func BenchmarkReadWide(b *testing.B) {
	for _, n := range []int{100, MaxKeys, MaxKeys + 1, 60_000} {
		src := repeatf(n, "key%05d: value\n")
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			benchRead(b, []byte(src), n <= MaxKeys)
		})
	}
	for _, n := range []int{1_000, MaxNodes - 1, 60_000} {
		src := repeatf(n, "- item%05d\n")
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			benchRead(b, []byte(src), n < MaxNodes)
		})
	}
}

// BenchmarkReadWorst reads the costliest files each limit still lets
// through, each under 1 MiB: what one request can make the parser spend.
func BenchmarkReadWorst(b *testing.B) {
	// Nine maps of MaxKeys keys, under keys of the given length.
	maps := func(keyLen int, entry string) string {
		var s strings.Builder
		for i := range 9 {
			fmt.Fprintf(&s, "%s%d:\n%s", strings.Repeat("k", keyLen), i, repeatf(MaxKeys, "  "+entry))
		}
		return s.String()
	}
	cases := map[string]string{
		// goccy/go-yaml's time grows with the square of one map's keys,
		"maps of keys":       maps(1, "k%03d: v\n"),
		"maps of empty keys": maps(1, "k%03d:\n"),
		// and with the length of the keys above a value,
		"long key paths": maps(MaxKeyPath-8, "k%03d: v\n"),
		// and with a block scalar's trailing blank lines times its size.
		"blank tail": "a: |\n" + strings.Repeat(" "+strings.Repeat("x", 99)+"\n", 10_000) + strings.Repeat("\n", MaxBlankTail/1_010_000) + "b: 1\n",
		// Comments and document markers are not values.
		"comments":  strings.Repeat("# a comment of some length\n", MaxBytes/27),
		"documents": strings.Repeat("---\n", MaxNodes),
		// The most values, each in a composition's shape.
		"tasks": "name: big\ntasks:\n" + repeatf(MaxNodes/24, "  - id: t%d\n    run: make\n    needs: [a, b]\n    with: {x: 1, y: [2, 3]}\n"),
	}
	for _, name := range sortedKeys(cases) {
		src := []byte(cases[name])
		if len(src) > MaxBytes {
			b.Fatalf("%s: %d bytes, over MaxBytes", name, len(src))
		}
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			benchRead(b, src, true)
		})
	}
}

// BenchmarkGuard runs the guard alone over 1 MiB files made to make it
// work: it reads each in one pass, so each takes about as long as the
// next, a few milliseconds.
func BenchmarkGuard(b *testing.B) {
	fill := func(head, unit, tail string) []byte {
		n := (MaxBytes - len(head) - len(tail)) / len(unit)
		return []byte(head + strings.Repeat(unit, n) + tail)
	}
	cases := map[string][]byte{
		"plain text":               fill("a: ", "x", "\n"),
		"quoted text":              fill("a: \"", "\\\"", "\"\n"),
		"block scalar":             fill("a: |\n", "  [[[ {{{ - - -\n", ""),
		"comments":                 fill("", "# [[[ {{{\n", ""),
		"explicit key, flow maps":  fill("? ", "{}", "\n"),
		"colons in one flow entry": fill("{a: ", "\"x\": ", "}"),
		"lines of one plain key":   fill("a", "\n a", ": b\n"),
	}
	for _, name := range sortedKeys(cases) {
		src := cases[name]
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				check(src, defaultLimits())
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// repeatf repeats format n times, each with its index.
func repeatf(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func benchRead(b *testing.B, src []byte, accept bool) {
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		_, probs, ok := Read(src, "second")
		if ok != accept {
			b.Fatalf("read: ok %v, want %v; %v", ok, accept, probs)
		}
	}
}

// TestReadDeepMemory checks, with a loose bound, that refusing a file
// 60,000 levels deep takes no memory to speak of: the guard stops at level
// 65 and the parser never runs. (Parsing it took all of the host's 24 GB.)
func TestReadDeepMemory(t *testing.T) {
	for _, name := range sortedKeys(nestings) {
		s, _ := nestings[name](deepest(name))
		src := []byte(s)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, ok := Read(src, "second")
		runtime.ReadMemStats(&after)
		if ok {
			t.Fatalf("%s: read", name)
		}
		if used := after.TotalAlloc - before.TotalAlloc; used > 2<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", name, used)
		}
	}
}
