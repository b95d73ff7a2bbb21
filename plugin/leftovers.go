package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Leftovers records the process groups of running tasks as small files in
// Dir, so that a server or agent restarted after a crash can stop what its
// predecessor left running before it retries those tasks: a task must
// never run twice at the same time. Each file holds the group leader's pid
// and its start time, so a pid the system has since reused for something
// else is never touched.
type Leftovers struct {
	Dir string
}

// Record notes that the process group led by pid belongs to a running
// task; key names the task attempt and must be a valid file name.
func (l Leftovers) Record(key string, pid int) error {
	start, ok := startTime(pid)
	if !ok {
		return nil // no way to recognise the process later; nothing to record
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, key), fmt.Appendf(nil, "%d %d\n", pid, start), 0o644)
}

// Forget removes the record of a task that has ended.
func (l Leftovers) Forget(key string) {
	os.Remove(filepath.Join(l.Dir, key))
}

// KillAll kills (SIGKILL) every recorded process group whose leader is
// still the process that was recorded, and removes the records. It returns
// the keys of the groups it killed.
func (l Leftovers) KillAll() ([]string, error) {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var killed []string
	var errs []error
	for _, e := range entries {
		path := filepath.Join(l.Dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fields := strings.Fields(string(data))
		if len(fields) == 2 {
			pid, err1 := strconv.Atoi(fields[0])
			start, err2 := strconv.ParseUint(fields[1], 10, 64)
			if now, ok := startTime(pid); err1 == nil && err2 == nil && ok && now == start {
				if err := killGroup(pid); err != nil {
					errs = append(errs, fmt.Errorf("kill process group %d of %s: %w", pid, e.Name(), err))
				} else {
					killed = append(killed, e.Name())
				}
			}
		}
		os.Remove(path)
	}
	return killed, errors.Join(errs...)
}
