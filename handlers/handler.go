// Package handlers is Baton's HTTP layer: one route table for the web UI,
// the REST API, websockets and webhooks. Handlers ask the engine to act and
// read from storage to show; errors are turned into responses (and logged,
// when unexpected) in respond.go only.
package handlers

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"baton/engine"
	"baton/static"
	"baton/storage"
	"baton/views/layouts"
)

// Config is what the HTTP layer is built from.
type Config struct {
	Engine  *engine.Engine
	Store   *storage.Store
	Logger  *slog.Logger
	Version string
	// SecureCookies marks the session cookie Secure; set it when users
	// reach Baton over HTTPS (directly or through a proxy).
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (see clientAddr); from any other peer it is ignored.
	TrustedProxies []netip.Prefix
}

// Handler holds the dependencies of every route.
type Handler struct {
	engine   *engine.Engine
	store    *storage.Store
	log      *slog.Logger
	version  string
	sessions *scs.SessionManager
	logins   *loginThrottle
	proxies  proxies
	assets   layouts.Assets
	// hookRefusals is each address's budget of refused webhook requests.
	hookRefusals *refusals
	// sessionsEnded rings when this server ended sessions, so that
	// websockets check theirs at once instead of at their next round.
	sessionsEnded broadcast
	// ready remembers the last readiness check (/readyz).
	ready readiness
	// untrustedProxy logs, once, that X-Forwarded-For came from a peer
	// that is not a trusted proxy.
	untrustedProxy sync.Once
}

// access says who may use a route, and whether the session middleware
// wraps it.
type access int

const (
	public     access = iota // anyone, with the session loaded: the login pages
	open                     // anyone, no session: health, static files, webhooks (which verify their own signatures)
	loggedIn                 // a session or an API token
	userSocket               // a session or an API token, on a websocket: scs's middleware hides the connection it needs, so the session is loaded without it
	agent                    // an agent token, no session
)

// route is one entry of the route table.
type route struct {
	pattern string // method and path, as http.ServeMux takes them
	access  access
	handler http.HandlerFunc
}

// New returns the server's root handler.
func New(cfg Config) http.Handler {
	return newHandler(cfg).root()
}

// root is the handler of every route, with the protections every request gets.
func (h *Handler) root() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, h.wrap(rt))
	}
	return http.NewCrossOriginProtection().Handler(securityHeaders(mux))
}

func newHandler(cfg Config) *Handler {
	h := &Handler{engine: cfg.Engine, store: cfg.Store, log: cfg.Logger, version: cfg.Version,
		logins: newLoginThrottle(defaultThrottle(), time.Now), proxies: proxies(cfg.TrustedProxies),
		hookRefusals: newRefusals(hookRefusedBurst, hookRefusedEvery, hookRefusedAddrs)}
	if h.log == nil {
		h.log = slog.Default()
	}
	sm := scs.New()
	if cfg.Store != nil {
		// The store hashes tokens and notes each session's user, which it
		// reads from the session's data with this.
		sm.Store = cfg.Store.Sessions(func(data []byte) int64 {
			_, values, err := sm.Codec.Decode(data)
			if err != nil {
				return 0
			}
			id, _ := values[sessionUserKey].(int64)
			return id
		})
	}
	sm.Lifetime = 14 * 24 * time.Hour
	sm.IdleTimeout = 3 * 24 * time.Hour
	sm.Cookie.Name = "baton_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies
	sm.Cookie.Path = "/"
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		h.log.Error("session store failed", "path", r.URL.Path, "err", err)
		http.Error(w, "the session store failed; the server log has the details", http.StatusInternalServerError)
	}
	h.sessions = sm
	h.assets = layouts.Assets{
		CSS: static.URL("css/app.css"), AppJS: static.URL("js/app.js"), RunJS: static.URL("js/run.js"),
		HTMX: static.URL("vendor/htmx.min.js"), Logo: static.URL("img/logo.svg"),
		EditorJS: static.URL("js/editor.js"), Sortable: static.URL("vendor/Sortable.min.js"),
	}
	return h
}

// wrap applies a route's access rule.
func (h *Handler) wrap(rt route) http.Handler {
	next := http.Handler(rt.handler)
	switch rt.access {
	case open:
		return next
	case loggedIn:
		return h.sessions.LoadAndSave(h.requireUser(next, true))
	case userSocket:
		return h.requireUser(next, false)
	case agent:
		return h.requireAgent(next)
	}
	return h.sessions.LoadAndSave(next)
}

// routes is the route table: every URL Baton answers.
func (h *Handler) routes() []route {
	return []route{
		{"GET /healthz", open, h.healthz},
		{"GET /readyz", open, h.readyz},
		{"POST /hooks/{trigger}", open, h.hook}, // webhooks verify their own signatures
		{"GET /static/{hash}/{file...}", open, static.Handler().ServeHTTP},

		// Web UI
		{"GET /login", public, h.loginForm},
		{"POST /login", public, h.login},
		{"POST /logout", loggedIn, h.logout},
		{"GET /{$}", loggedIn, h.dashboard},
		{"GET /ui/nav", loggedIn, h.nav},
		{"GET /compositions", loggedIn, h.compositions},
		{"GET /compositions/{name}", loggedIn, h.composition},
		{"GET /compositions/{name}/edit", loggedIn, h.editorOpen},
		{"GET /editor/new", loggedIn, h.editorNew},
		{"POST /editor", loggedIn, h.editorAction},
		{"POST /editor/save", loggedIn, h.editorSave},
		{"POST /compositions/{name}/runs", loggedIn, h.compositionRun},
		{"GET /compositions/{name}/history", loggedIn, h.compositionHistory},
		{"GET /compositions/{name}/versions/{version}", loggedIn, h.compositionVersion},
		{"POST /compositions/{name}/versions/{version}/restore", loggedIn, h.compositionRestore},
		{"GET /runs", loggedIn, h.runs},
		{"GET /runs/{id}", loggedIn, h.run},
		{"GET /runs/{id}/live", userSocket, h.runLive},
		{"POST /runs/{id}/cancel", loggedIn, h.runCancel},
		{"POST /runs/{id}/rerun", loggedIn, h.runRerun},
		{"POST /runs/{id}/retry", loggedIn, h.runRetry},
		{"POST /runs/{id}/tasks/{task}/approve", loggedIn, h.taskApprove},
		{"POST /runs/{id}/tasks/{task}/reject", loggedIn, h.taskReject},
		{"GET /agents", loggedIn, h.agents},
		{"GET /agents/{name}", loggedIn, h.agentPage},
		{"POST /agents/{name}", loggedIn, h.agentUpdate},
		{"POST /agents/{name}/remove", loggedIn, h.agentRemove},
		{"POST /agents/{name}/reset-credential", loggedIn, h.agentCredentialReset},
		{"GET /triggers", loggedIn, h.triggersPage},
		{"GET /triggers/{name}", loggedIn, h.triggerPage},
		{"GET /trigger-editor/new", loggedIn, h.triggerNew},
		{"POST /trigger-editor/check", loggedIn, h.triggerCheck},
		{"POST /trigger-editor/save", loggedIn, h.triggerSave},
		{"GET /triggers/{name}/edit", loggedIn, h.triggerEdit},
		{"POST /triggers/{name}/delete", loggedIn, h.triggerDelete},
		{"POST /triggers/{name}/test", loggedIn, h.triggerTest},
		{"GET /triggers/{name}/history", loggedIn, h.triggerHistory},
		{"GET /triggers/{name}/versions/{version}", loggedIn, h.triggerVersion},
		{"POST /triggers/{name}/versions/{version}/restore", loggedIn, h.triggerRestore},
		{"GET /events", loggedIn, h.eventsPage},
		{"GET /events/{id}", loggedIn, h.eventPage},
		{"POST /events/{id}/replay", loggedIn, h.eventReplay},
		{"GET /settings/agent-tokens", loggedIn, h.agentTokens},
		{"POST /settings/agent-tokens", loggedIn, h.agentTokenCreate},
		{"POST /settings/agent-tokens/{id}/revoke", loggedIn, h.agentTokenRevoke},
		{"GET /settings/tokens", loggedIn, h.tokens},
		{"POST /settings/tokens", loggedIn, h.tokenCreate},
		{"POST /settings/tokens/{id}/revoke", loggedIn, h.tokenRevoke},
		{"GET /settings/users", loggedIn, h.users},
		{"POST /settings/users", loggedIn, h.userAdd},
		{"POST /settings/users/{name}/remove", loggedIn, h.userRemove},
		{"POST /settings/password", loggedIn, h.passwordChange},
		{"GET /ws/events", userSocket, h.wsEvents},
		{"/", public, h.notFound},

		// REST API
		{"GET /api/v1/openapi.json", loggedIn, h.openapi},
		{"GET /api/v1/task-types", loggedIn, h.apiTaskTypes},
		{"GET /api/v1/compositions", loggedIn, h.apiCompositionList},
		{"GET /api/v1/compositions/{name}", loggedIn, h.apiCompositionGet},
		{"PUT /api/v1/compositions/{name}", loggedIn, h.apiCompositionPut},
		{"DELETE /api/v1/compositions/{name}", loggedIn, h.apiCompositionDelete},
		{"GET /api/v1/compositions/{name}/versions", loggedIn, h.apiCompositionVersions},
		{"GET /api/v1/compositions/{name}/versions/{version}", loggedIn, h.apiCompositionVersionGet},
		{"POST /api/v1/compositions/{name}/versions/{version}/restore", loggedIn, h.apiCompositionRestore},
		{"POST /api/v1/compositions/{name}/runs", loggedIn, h.apiRunStart},
		{"GET /api/v1/runs", loggedIn, h.apiRunList},
		{"GET /api/v1/runs/{id}", loggedIn, h.apiRunGet},
		{"GET /api/v1/runs/{id}/log", loggedIn, h.apiRunLog},
		{"POST /api/v1/runs/{id}/cancel", loggedIn, h.apiRunCancel},
		{"POST /api/v1/runs/{id}/retry", loggedIn, h.apiRunRetry},
		{"POST /api/v1/runs/{id}/tasks/{task}/approve", loggedIn, h.apiTaskApprove},
		{"POST /api/v1/runs/{id}/tasks/{task}/reject", loggedIn, h.apiTaskReject},
		{"GET /api/v1/me", loggedIn, h.apiMe},
		{"GET /api/v1/triggers", loggedIn, h.apiTriggerList},
		{"GET /api/v1/triggers/{name}", loggedIn, h.apiTriggerGet},
		{"PUT /api/v1/triggers/{name}", loggedIn, h.apiTriggerPut},
		{"DELETE /api/v1/triggers/{name}", loggedIn, h.apiTriggerDelete},
		{"GET /api/v1/triggers/{name}/versions", loggedIn, h.apiTriggerVersions},
		{"GET /api/v1/triggers/{name}/versions/{version}", loggedIn, h.apiTriggerVersionGet},
		{"POST /api/v1/triggers/{name}/versions/{version}/restore", loggedIn, h.apiTriggerRestore},
		{"POST /api/v1/triggers/{name}/test", loggedIn, h.apiTriggerTest},
		{"GET /api/v1/events", loggedIn, h.apiEventList},
		{"GET /api/v1/events/{id}", loggedIn, h.apiEventGet},
		{"POST /api/v1/events/{id}/replay", loggedIn, h.apiEventReplay},
		{"POST /api/v1/events/{source}", loggedIn, h.apiEventPost},
		{"GET /api/v1/agents", loggedIn, h.apiAgentList},
		{"GET /api/v1/agents/{name}", loggedIn, h.apiAgentGet},
		{"PATCH /api/v1/agents/{name}", loggedIn, h.apiAgentPatch},
		{"DELETE /api/v1/agents/{name}", loggedIn, h.apiAgentDelete},
		{"DELETE /api/v1/agents/{name}/credential", loggedIn, h.apiAgentCredentialReset},
		{"GET /api/v1/agent-tokens", loggedIn, h.apiAgentTokenList},
		{"POST /api/v1/agent-tokens", loggedIn, h.apiAgentTokenCreate},
		{"DELETE /api/v1/agent-tokens/{id}", loggedIn, h.apiAgentTokenDelete},

		// Agents
		{"GET /api/v1/agents/connect", agent, h.agentConnect},
		{"GET /api/v1/agents/plugins/{hash}", agent, h.agentPlugin},
		{"/api/", public, h.apiNotFound},
	}
}

// healthz is liveness: the process answers HTTP.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": h.version})
}

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}
