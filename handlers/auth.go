package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"baton/auth"
	"baton/model"
)

type userKey struct{}

// sessionUserKey is the session value that holds the logged-in user's id.
const sessionUserKey = "user_id"

// withUser stores the authenticated user of a request.
func withUser(ctx context.Context, u *model.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// currentUser returns the authenticated user of a request; routes behind
// requireUser always have one.
func currentUser(r *http.Request) *model.User {
	u, _ := r.Context().Value(userKey{}).(*model.User)
	return u
}

// who names the current user in run triggers and approval records.
func who(r *http.Request) string {
	if u := currentUser(r); u != nil {
		return u.Name
	}
	return "anonymous"
}

// requireUser lets a request through with a valid API token (Authorization:
// Bearer) or a logged-in session. Otherwise API calls get 401 JSON and
// pages a redirect to the login form.
// withSession says whether the session middleware has loaded the session.
func (h *Handler) requireUser(next http.Handler, withSession bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if !withSession {
			if r, err = h.withBareSession(r); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		u, err := h.authenticate(r, true)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if u == nil {
			h.unauthorized(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
	})
}

// withBareSession loads the session of a request that skips the session
// middleware (websockets: scs's middleware hides the connection they
// need), or an empty one when it has none, so that everything after it,
// error pages included, finds a session in the context as on any other
// route. Nothing is saved: changes made to it are dropped. When the store
// fails, the request it returns holds an empty session, for the error page.
func (h *Handler) withBareSession(r *http.Request) (*http.Request, error) {
	token := ""
	if c, err := r.Cookie(h.sessions.Cookie.Name); err == nil {
		token = c.Value
	}
	ctx, err := h.sessions.Load(r.Context(), token)
	if err != nil {
		ctx, _ = h.sessions.Load(r.Context(), "") // an empty session never reaches the store
		return r.WithContext(ctx), err
	}
	return r.WithContext(ctx), nil
}

// authenticate finds the user of a request, or nil.
func (h *Handler) authenticate(r *http.Request, withSession bool) (*model.User, error) {
	if hdr := r.Header.Get("Authorization"); hdr != "" {
		token, ok := bearerToken(r)
		if !ok {
			return nil, nil
		}
		u, _, err := h.store.UserByTokenHash(r.Context(), auth.HashToken(token))
		if errors.Is(err, model.ErrNotFound) {
			return nil, nil
		}
		return u, err
	}
	ctx := r.Context()
	if !withSession {
		// Websocket routes skip the session middleware: load it here.
		c, err := r.Cookie(h.sessions.Cookie.Name)
		if err != nil {
			return nil, nil
		}
		if ctx, err = h.sessions.Load(ctx, c.Value); err != nil {
			return nil, err
		}
	}
	id := h.sessions.GetInt64(ctx, sessionUserKey)
	if id == 0 {
		return nil, nil
	}
	u, err := h.store.GetUserByID(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil // the user was removed
	}
	return u, err
}

func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "authentication required: send an API token as `Authorization: Bearer TOKEN` (create one under Settings, or with `baton token create`)"})
		return
	}
	if r.Method == http.MethodGet && !isWebsocket(r) {
		http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	h.errorPage(w, r, http.StatusUnauthorized, "Please log in", "Your session has ended. Log in again to go on.", "/login", "Log in")
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// bearerToken reads `Authorization: Bearer TOKEN`; the scheme's case does
// not matter (RFC 9110, section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
