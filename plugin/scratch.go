package plugin

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Scratch is one directory for the small files of task attempts (outputs
// files, long scripts), made once and shared, so starting a task creates
// no directory: on disks mounted with discard, every create and delete of
// a directory costs most of a millisecond. Each attempt gets its own file
// names in it. Safe for concurrent use.
type Scratch struct {
	mu  sync.Mutex
	dir string
	n   uint64
}

// prefix returns a path prefix no other attempt uses. It makes the
// directory again if something (a tmp cleaner) removed it.
func (s *Scratch) prefix() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		if _, err := os.Stat(s.dir); err != nil {
			s.dir = ""
		}
	}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "baton-tasks-")
		if err != nil {
			return "", err
		}
		s.dir = d
	}
	s.n++
	return filepath.Join(s.dir, strconv.FormatUint(s.n, 10)), nil
}

// Close removes the directory.
func (s *Scratch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir = ""
	return err
}
