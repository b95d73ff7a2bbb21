package plugin

import (
	"context"
	"errors"
)

// ErrCancelled and ErrTimedOut are the Result.Err of a task whose context
// ended before it did: cancelled, or past its deadline. errors.Is also
// matches them against context.Canceled and context.DeadlineExceeded.
var (
	ErrCancelled error = &stopError{msg: "cancelled", cause: context.Canceled}
	ErrTimedOut  error = &stopError{msg: "timed out", cause: context.DeadlineExceeded}
)

type stopError struct {
	msg   string
	cause error
}

func (e *stopError) Error() string { return e.msg }
func (e *stopError) Unwrap() error { return e.cause }

// stopErr says why ctx ended, as a task result.
func stopErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimedOut
	}
	return ErrCancelled
}
