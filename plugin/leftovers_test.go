package plugin

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestLeftoversKillsRecordedGroupOnly(t *testing.T) {
	if _, ok := startTime(os.Getpid()); !ok {
		t.Skip("no /proc here")
	}
	l := Leftovers{Dir: t.TempDir()}
	start := func() *exec.Cmd {
		cmd := exec.Command("sh", "-c", "sleep 60 & wait")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	orphan, other := start(), start()
	defer other.Process.Kill()
	if err := l.Record("run1-build-1", orphan.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// A record whose pid now belongs to a different process (a reused
	// pid) must not be acted on.
	os.WriteFile(l.Dir+"/stale", []byte("1 12345\n"), 0o644)

	killed, err := l.KillAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0] != "run1-build-1" {
		t.Fatalf("killed %v", killed)
	}
	done := make(chan error, 1)
	go func() { done <- orphan.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("recorded group still running")
	}
	deadline := time.Now().Add(5 * time.Second)
	for groupAlive(orphan.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("the grandchild sleep survived")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !groupAlive(other.Process.Pid) {
		t.Error("an unrecorded group was killed")
	}
	if entries, _ := os.ReadDir(l.Dir); len(entries) != 0 {
		t.Errorf("records left: %v", entries)
	}
}
