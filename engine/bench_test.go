package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSequentialTasks measures the engine's overhead per task: a
// chain of `true` shell tasks, every transition committed to SQLite.
func BenchmarkSequentialTasks(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("name: chain\ntasks:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "  - id: t%d\n    run: \"true\"\n", i)
	}
	h := newHarness(b, sb.String())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.waitDone(h.startRun("chain", nil).ID)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*100), "µs/task")
}
