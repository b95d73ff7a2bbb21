package model

import "errors"

// ErrNotFound says the asked-for record does not exist. Storage returns it
// wrapped; every layer tests for it with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrConflict says a write would break a uniqueness rule (a name taken, a
// delivery received before).
var ErrConflict = errors.New("conflict")

// ErrStorageFull says the database could not grow: the disk that holds it
// is full. Storage returns it wrapped, so the engine can say so in the
// runs it fails and the server can report itself not ready.
var ErrStorageFull = errors.New("the disk that holds the database is full")
