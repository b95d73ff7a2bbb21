package model

import "errors"

// ErrNotFound says the asked-for record does not exist. Storage returns it
// wrapped; every layer tests for it with errors.Is.
var ErrNotFound = errors.New("not found")
