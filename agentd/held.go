package agentd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"baton/plugin"
	"baton/protocol"
)

// interruptedError is the result of a job the agent was running when it
// died: its processes were killed at the next start.
const interruptedError = "interrupted by agent restart"

// lostJob is a job loaded from the outbox of a previous agent. It is
// repaired once welcome says what the server already has.
type lostJob struct {
	result *protocol.Result // nil: the previous agent died while the job ran
}

// loadHeld loads the jobs a previous agent left in the outbox: ended ones
// with their result and lines, and interrupted ones (a .job file but no
// result). Both are held as ended until the server has them.
func (a *Agent) loadHeld() error {
	entries, err := os.ReadDir(a.outboxDir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	var keys []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") { // a temporary file of writeFileAtomic
			os.Remove(filepath.Join(a.outboxDir, name))
			continue
		}
		ext := filepath.Ext(name)
		if key := strings.TrimSuffix(name, ext); !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, key := range keys {
		if err := a.loadJobLocked(key); err != nil {
			a.log.Warn("discarding the unreadable outbox of a job", "job", jobIDOf(key), "err", err)
			newOutbox(filepath.Join(a.outboxDir, key), a.mem).remove()
		}
	}
	return nil
}

// loadJobLocked loads one job from the outbox; a.mu must be held.
func (a *Agent) loadJobLocked(key string) error {
	path := filepath.Join(a.outboxDir, key)
	var meta jobMeta
	hasMeta := readJSON(path+".job", &meta) == nil
	var res *protocol.Result
	if data, err := os.ReadFile(path + ".result"); err == nil {
		res = &protocol.Result{}
		if err := json.Unmarshal(data, res); err != nil {
			return fmt.Errorf("result: %w", err)
		}
	}
	if !hasMeta && res == nil {
		return errors.New("neither a .job nor a .result file")
	}
	id := jobIDOf(key)
	if meta.JobID != "" {
		id = meta.JobID
	}
	j := a.addJobLocked(id)
	if err := j.out.load(); err != nil {
		a.unlistLocked(j)
		return fmt.Errorf("log lines: %w", err)
	}
	j.state, j.lost = jobEnded, &lostJob{result: res}
	if res != nil {
		res.JobID = id
		j.result = res
		a.log.Info("holding the undelivered result of a job from before the restart", "job", id, "lines", res.LogLines)
	} else {
		a.log.Warn("a job was running when the agent stopped; reporting it as interrupted", "job", id)
	}
	return nil
}

// welcomeLocked applies the server's welcome to the held jobs: it forgets
// those whose result the server has, drops those it no longer wants, and
// sets each job's next line to send after what the server has stored.
// a.mu must be held.
func (a *Agent) welcomeLocked(w *protocol.Welcome) {
	for _, j := range slices.Clone(a.order) {
		j.sent, j.resultSent, j.inflight = 0, false, nil
		switch {
		case slices.Contains(w.Drop, j.id):
			a.dropLocked(j)
			continue
		case slices.Contains(w.ResultStored, j.id) && j.state == jobEnded:
			a.forgetLocked(j)
			continue
		case slices.Contains(w.ResultStored, j.id):
			a.log.Warn("the server says it has the result of a job still running; ignoring that", "job", j.id)
		}
		k := w.Acked[j.id]
		if j.lost != nil {
			a.repairLocked(j, k)
			j.lost = nil
		} else {
			if lines := j.out.lines(); k > lines {
				a.log.Warn("the server says it stored more lines than the job wrote", "job", j.id, "acked", k, "lines", lines)
			}
			if acked := j.out.ackedUpTo(); k < acked {
				a.log.Error("the server lost lines it had acknowledged; they cannot be sent again", "job", j.id, "acked_before", acked, "acked_now", k)
			}
			j.out.ack(k)
		}
		j.sent = j.out.ackedUpTo()
	}
}

// repairLocked readies a job loaded from disk for delivery, given that the
// server has stored its lines up to k. When lines between k and the end
// of the job are missing (kept in memory by an agent that crashed), the
// job's log continues after the last line that can be sent with a note
// saying what happened, and its result counts that note. An interrupted
// job gets the result "interrupted by agent restart", exit code -1.
// a.mu must be held.
func (a *Agent) repairLocked(j *job, k int64) {
	res := j.lost.result
	first, last := j.out.spilled()
	switch {
	case res != nil && k >= res.LogLines:
		j.out.rebase(res.LogLines) // the server has every line
		return
	case res != nil && k+1 >= first && last >= res.LogLines:
		j.out.ack(k) // every line the server lacks is on disk
		return
	}
	have := k // the job's log can be complete up to this line
	if last > k && k+1 >= first {
		have = last
		j.out.ack(k)
	} else {
		j.out.rebase(k)
	}
	var note string
	if res == nil {
		res = &protocol.Result{JobID: j.id, ExitCode: -1, Error: interruptedError}
		note = fmt.Sprintf("agent: the agent stopped while this job ran and killed its processes when it restarted; output after line %d was not delivered and is lost", have)
	} else {
		note = fmt.Sprintf("agent: lines %d to %d of this job were lost with the agent's outbox on disk", have+1, res.LogLines)
	}
	j.out.append(uint8(plugin.System), time.Now().UTC(), note)
	res.LogLines = j.out.lines()
	if err := j.out.finish(res); err != nil {
		a.log.Warn("cannot write the job's result to disk", "job", j.id, "err", err)
	}
	j.result = res
}

// readJSON decodes the JSON file at path into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
