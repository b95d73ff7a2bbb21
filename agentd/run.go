package agentd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Run runs the agent until ctx ends or a fatal error (a refused token, a
// protocol version mismatch). When ctx ends, the agent drains: it tells
// the server it takes no new jobs, lets running jobs finish within the
// grace period (then cancels them), and waits a little for the server to
// store their output; what is left is delivered at the next start. Run
// returns nil after such a stop, ErrTokenRefused or a *FatalError
// otherwise. Call it once.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.start(); err != nil {
		return err
	}
	defer a.close()
	a.updateFacts(ctx)
	connCtx, stopConn := context.WithCancel(context.Background())
	defer stopConn()
	connDone := make(chan error, 1)
	go func() { connDone <- a.connectLoop(connCtx) }()
	factsDone := make(chan struct{})
	go func() {
		defer close(factsDone)
		a.factsLoop(connCtx)
	}()

	var fatal error
	select {
	case <-ctx.Done():
		a.log.Info("agent stopping: no new jobs; running jobs get the grace period", "grace", a.cfg.Grace)
	case fatal = <-connDone: // the caller reports it
	}
	a.Drain()
	a.finishJobs(fatal)
	if fatal == nil {
		a.awaitDelivery()
	}
	stopConn()
	if fatal == nil {
		<-connDone
	}
	<-factsDone
	a.mu.Lock()
	left := len(a.jobs)
	a.mu.Unlock()
	if left > 0 {
		a.log.Warn("some job output is not delivered yet; it stays on disk and is sent at the next start", "jobs", left, "dir", a.outboxDir)
	}
	return fatal
}

// start prepares the work directory: it kills the processes a crashed
// predecessor left running, loads (or makes) the agent's credential, then
// loads the fetched plugins and the undelivered output.
func (a *Agent) start() error {
	killed, err := a.leftovers.KillAll()
	for _, k := range killed {
		a.log.Warn("killed the processes of a job left running by the previous agent", "job", jobIDOf(k))
	}
	if err != nil {
		a.log.Warn("could not kill every process left running by the previous agent", "err", err)
	}
	for _, d := range []string{a.workspace, a.outboxDir, a.plugins.dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
	}
	if a.credential, err = loadCredential(a.cfg.Workdir, a.httpBase, a.cfg.Name); err != nil {
		return &FatalError{Msg: err.Error()}
	}
	os.Remove(filepath.Join(a.cfg.Workdir, "agent-id")) // the installation id of protocol version 1, replaced by the credential
	a.plugins.loadAll(a.log)
	return a.loadHeld()
}

// close releases the registries once no job runs.
func (a *Agent) close() {
	a.plugins.close()
	if a.ownReg {
		a.reg.Close()
	}
}

// finishJobs waits for the running jobs to end: for the grace period, or
// not at all after a fatal error or once Abort is called; then it cancels
// them and waits for them to be gone.
func (a *Agent) finishJobs(fatal error) {
	done := make(chan struct{})
	go func() {
		a.jobsWG.Wait()
		close(done)
	}()
	grace := time.NewTimer(a.cfg.Grace)
	defer grace.Stop()
	cause := fmt.Errorf("cancelled: the agent stopped and the grace period of %s ran out", a.cfg.Grace)
	if fatal == nil {
		select {
		case <-done:
			return
		case <-grace.C:
		case <-a.aborted:
			cause = errors.New("cancelled: the agent was stopped at once")
		}
	} else {
		cause = fmt.Errorf("cancelled: the agent stopped: %w", fatal)
	}
	a.stopJobs(cause)
	<-done
}

// awaitDelivery waits until the server has stored every held job's output,
// for at most a.deliverWait (abortDeliverTimeout after Abort).
func (a *Agent) awaitDelivery() {
	timeout := a.deliverWait
	aborted := a.aborted
	select {
	case <-aborted:
		timeout, aborted = min(timeout, abortDeliverTimeout), nil
	default:
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		a.mu.Lock()
		left := len(a.jobs)
		a.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-a.forgotten:
		case <-timer.C:
			return
		case <-aborted:
			aborted = nil
			if timeout > abortDeliverTimeout {
				timer.Reset(abortDeliverTimeout)
			}
		}
	}
}
