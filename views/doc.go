// Package views holds the templ components of the web UI: layouts (the
// page frame), components (reusable pieces) and pages (one per screen).
// Views render the page model they are given and call nothing; handlers
// build the models. Run `make generate` after editing a .templ file; the
// generated *_templ.go files are committed so `go build` needs Go alone.
package views

//go:generate go tool templ generate -path .
