package agentd

import (
	"errors"
	"fmt"
	"math"
	"time"

	"baton/protocol"
)

// Reconnect timing.
const (
	// firstBackoff is the ceiling of the first wait before reconnecting.
	firstBackoff = 250 * time.Millisecond
	// stableAfter is how long a connection must have stayed up for the
	// next failure to count as the first one again.
	stableAfter = time.Minute
)

// ErrTokenRefused is returned by Run when the server refuses the agent's
// token (HTTP 401 or 403 on the websocket upgrade). Retrying cannot help.
var ErrTokenRefused = errors.New("the server refused the agent token; create one with `baton agent-token create`")

// FatalError is an error the server reported as final (a protocol Version
// mismatch, for one) or the agent found to be final; Run returns it and
// the agent does not reconnect.
type FatalError struct {
	Msg string
}

// Error returns the message.
func (e *FatalError) Error() string { return e.Msg }

// protocolError is a message from the server the agent could not use:
// malformed, too large, binary, unknown or out of place. The agent closes
// the connection and reconnects.
type protocolError struct {
	reason string
}

func (e *protocolError) Error() string { return "protocol error: " + e.reason }

// retryable is the one place that decides whether the agent reconnects
// after err ended a connection or a connection attempt. Everything is
// worth retrying (network errors, server restarts, timeouts, a server that
// closed the connection, protocol errors, a name still registered as
// connected) except a refused token and what the server or the agent
// declared fatal, such as a protocol version mismatch: those wait for a
// person.
func retryable(err error) bool {
	var fatal *FatalError
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrTokenRefused), errors.As(err, &fatal):
		return false
	}
	return true
}

// versionMismatch is the fatal error of a welcome with another protocol
// version.
func versionMismatch(server int) error {
	return &FatalError{Msg: fmt.Sprintf("the server speaks agent protocol version %d and this agent version %d; install the baton release of the server on this machine", server, protocol.Version)}
}

// backoff returns how long to wait before reconnect attempt number attempt
// (0 for the first after a failure): "full jitter", a uniformly random
// duration below a ceiling that starts at firstBackoff and doubles with
// each attempt up to protocol.MaxBackoff. random returns a number in
// [0, 1); it is a parameter so tests can fix it.
func backoff(attempt int, random func() float64) time.Duration {
	ceiling := float64(protocol.MaxBackoff)
	if attempt < 30 {
		ceiling = math.Min(ceiling, float64(firstBackoff)*math.Exp2(float64(attempt)))
	}
	return time.Duration(random() * ceiling)
}
