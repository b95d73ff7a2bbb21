//go:build unix

package plugin

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// setGroup makes the command the leader of a new process group, so that
// stopping the task reaches every process it started.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// group stops a task's process group: SIGTERM first, SIGKILL once the grace
// has passed.
type group struct {
	grace time.Duration

	mu        sync.Mutex
	stoppedAt time.Time   // zero until stop
	kill      *time.Timer // sends SIGKILL at the end of the grace
}

// stop sends SIGTERM to the group led by p and arms the SIGKILL. It is the
// command's Cancel function, called when the task's context ends.
func (g *group) stop(p *os.Process) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stoppedAt.IsZero() {
		return nil
	}
	g.stoppedAt = time.Now()
	pgid := p.Pid
	err := syscall.Kill(-pgid, syscall.SIGTERM)
	g.kill = time.AfterFunc(g.grace, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// waitGone returns once no live process is left in a stopped group, or when
// it has waited the grace and two more seconds. It returns at once when the
// group was never stopped.
func (g *group) waitGone(pgid int) {
	g.mu.Lock()
	start, kill := g.stoppedAt, g.kill
	g.mu.Unlock()
	if start.IsZero() {
		return
	}
	deadline := start.Add(g.grace + 2*time.Second)
	for groupAlive(pgid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Once the group is gone its id may be reused: no late SIGKILL.
	kill.Stop()
}

// groupAlive reports whether the process group has a member that is not a
// zombie. kill(-pgid, 0) also succeeds for zombies, which an init that does
// not reap orphans (some containers) leaves behind, so on a system with
// /proc the members' states are checked.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pg, ok := procStat(pid)
		if ok && pg == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat reads a process's state letter and process group from
// /proc/PID/stat.
func procStat(pid int) (state byte, pgid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgid, err = strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgid, true
}

// startTime returns when a process started, in clock ticks since boot
// (field 22 of /proc/PID/stat); ok is false without /proc or when the
// process is gone.
func startTime(pid int) (uint64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(data[i+1:])
	// After the comm: state is field 3, starttime field 22.
	if len(fields) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(fields[19]), 10, 64)
	return v, err == nil
}

// killGroup sends SIGKILL to a process group.
func killGroup(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
