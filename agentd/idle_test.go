package agentd

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestIdleAgentIsQuiet checks that a connected agent with nothing to do
// neither spins nor allocates: between its pings (every 20 s) and
// heartbeats (every 10 s) nothing happens.
func TestIdleAgentIsQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	ts := newTestServer(t)
	startAgent(t, ts, "", nil)
	ts.waitConn()
	time.Sleep(200 * time.Millisecond) // let the connection settle
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := cpuTime(t)
	time.Sleep(time.Second)
	runtime.ReadMemStats(&after)
	cpu := cpuTime(t) - cpuBefore
	t.Logf("idle second: %d allocations, %s CPU", after.Mallocs-before.Mallocs, cpu)
	if n := after.Mallocs - before.Mallocs; n > 200 {
		t.Errorf("%d allocations in a second of idleness", n)
	}
	if cpu > 50*time.Millisecond {
		t.Errorf("%s of CPU in a second of idleness", cpu)
	}
}

// BenchmarkJobOutput measures lines per second from a shell job through
// the agent and the websocket to the test server.
func BenchmarkJobOutput(b *testing.B) {
	for _, n := range []int{10_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			ts := newTestServer(b)
			startAgent(b, ts, b.TempDir(), nil)
			ts.waitConn()
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("%d/t/1", i+1)
				ts.assign(shellJob(id, fmt.Sprintf(`seq 1 %d`, n)))
				ts.waitResult(id)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// cpuTime is the CPU time the test process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
