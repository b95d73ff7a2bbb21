package handlers

import (
	_ "embed"
	"net/http"
)

// openapiDoc describes the REST API. A test checks it against the route
// table, so the two cannot drift apart.
//
//go:embed openapi.json
var openapiDoc []byte

func (h *Handler) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiDoc)
}
