package agentd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/protocol"
)

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	top := func() float64 { return 0.999999 }
	var prev time.Duration
	for attempt := range 40 {
		d := backoff(attempt, top)
		if d < prev {
			t.Errorf("attempt %d: %s < %s", attempt, d, prev)
		}
		if d > protocol.MaxBackoff {
			t.Errorf("attempt %d: %s over the cap", attempt, d)
		}
		prev = d
	}
	if first := backoff(0, top); first > firstBackoff || first < firstBackoff*99/100 {
		t.Errorf("first ceiling %s, want about %s", first, firstBackoff)
	}
	if backoff(3, top) < 7*firstBackoff {
		t.Errorf("attempt 3 = %s, want about 8×%s", backoff(3, top), firstBackoff)
	}
	if prev < protocol.MaxBackoff*99/100 {
		t.Errorf("last = %s, want about the cap", prev)
	}
	// Full jitter: the wait is uniform below the ceiling.
	if d := backoff(5, func() float64 { return 0.5 }); d != 4*time.Second {
		t.Errorf("half of the attempt 5 ceiling = %s, want 4s", d)
	}
	if d := backoff(1000, func() float64 { return 0 }); d != 0 {
		t.Errorf("zero jitter = %s", d)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{ErrTokenRefused, false},
		{fmt.Errorf("connect: %w", ErrTokenRefused), false},
		{versionMismatch(2), false},
		{&FatalError{Msg: "the server refused the agent: no"}, false},
		{errors.New("the server refused the agent: an agent named x is already connected"), true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{&protocolError{reason: "binary frame"}, true},
		{&websocket.CloseError{Code: websocket.CloseGoingAway}, true},
		{&websocket.CloseError{Code: websocket.CloseAbnormalClosure}, true},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
