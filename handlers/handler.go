// Package handlers is Baton's HTTP layer: one route table for the REST API,
// the web UI, websockets and webhooks. Handlers ask the engine to act and
// read from storage to show; errors are turned into responses (and logged,
// when unexpected) in respond.go only.
package handlers

import (
	"log/slog"
	"net/http"

	"baton/engine"
	"baton/storage"
)

// Config is what the HTTP layer is built from.
type Config struct {
	Engine  *engine.Engine
	Store   *storage.Store
	Logger  *slog.Logger
	Version string
}

// Handler holds the dependencies of every route.
type Handler struct {
	engine  *engine.Engine
	store   *storage.Store
	log     *slog.Logger
	version string
}

// route is one entry of the route table.
type route struct {
	pattern string // method and path, as http.ServeMux takes them
	handler http.HandlerFunc
}

// New returns the server's root handler.
func New(cfg Config) http.Handler {
	h := &Handler{engine: cfg.Engine, store: cfg.Store, log: cfg.Logger, version: cfg.Version}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
	return mux
}

// routes is the route table: every URL Baton answers.
func (h *Handler) routes() []route {
	return []route{
		{"GET /healthz", h.healthz},
		{"GET /api/v1/openapi.json", h.openapi},

		{"GET /api/v1/task-types", h.apiTaskTypes},
		{"GET /api/v1/compositions", h.apiCompositionList},
		{"GET /api/v1/compositions/{name}", h.apiCompositionGet},
		{"PUT /api/v1/compositions/{name}", h.apiCompositionPut},
		{"DELETE /api/v1/compositions/{name}", h.apiCompositionDelete},
		{"GET /api/v1/compositions/{name}/versions", h.apiCompositionVersions},
		{"POST /api/v1/compositions/{name}/runs", h.apiRunStart},

		{"GET /api/v1/runs", h.apiRunList},
		{"GET /api/v1/runs/{id}", h.apiRunGet},
		{"GET /api/v1/runs/{id}/log", h.apiRunLog},
		{"POST /api/v1/runs/{id}/cancel", h.apiRunCancel},
		{"POST /api/v1/runs/{id}/tasks/{task}/approve", h.apiTaskApprove},
		{"POST /api/v1/runs/{id}/tasks/{task}/reject", h.apiTaskReject},
	}
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": h.version})
}
