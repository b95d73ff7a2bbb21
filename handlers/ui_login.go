package handlers

import (
	"errors"
	"net/http"
	"strings"

	"baton/auth"
	"baton/model"
	"baton/views/pages"
)

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if u, _ := h.authenticate(r, true); u != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, pages.LoginPage(pages.Login{Layout: h.page(r, "Log in", ""), Next: r.URL.Query().Get("next")}))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	name, password, next := strings.TrimSpace(r.FormValue("name")), r.FormValue("password"), r.FormValue("next")
	again := func(status int, msg string) {
		h.render(w, r, status, pages.LoginPage(pages.Login{Layout: h.page(r, "Log in", ""), Name: name, Next: next, Error: msg}))
	}
	if !h.logins.allow(r) {
		again(http.StatusTooManyRequests, "Too many attempts from your address. Wait a minute and try again.")
		return
	}
	u, err := h.store.GetUser(r.Context(), name)
	switch {
	case errors.Is(err, model.ErrNotFound):
		auth.CheckNoUser(password)
		again(http.StatusUnauthorized, "Wrong user name or password.")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if auth.CheckPassword(u.PasswordHash, password) != nil {
		again(http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	// A new session token on login, so a token planted before cannot ride along.
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionUserKey, u.ID)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.Destroy(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
