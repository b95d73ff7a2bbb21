package model

import "errors"

// ErrNotFound says the asked-for record does not exist. Storage returns it
// wrapped; every layer tests for it with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrConflict says a write would break a uniqueness rule (a name taken, a
// delivery received before).
var ErrConflict = errors.New("conflict")
