//go:build !unix

package plugin

import (
	"os"
	"os/exec"
	"sync"
	"time"
)

// setGroup does nothing where there are no Unix process groups.
func setGroup(cmd *exec.Cmd) {}

// group stops a task's process. Without Unix process groups only the
// process itself is killed, not the processes it started.
type group struct {
	grace time.Duration
	once  sync.Once
}

// stop kills the process.
func (g *group) stop(p *os.Process) error {
	var err error
	g.once.Do(func() { err = p.Kill() })
	return err
}

// waitGone has nothing to wait for without process groups.
func (g *group) waitGone(pgid int) {}

// startTime is unknown without /proc: leftovers are then not recorded.
func startTime(pid int) (uint64, bool) { return 0, false }

// killGroup kills one process where there are no process groups.
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
