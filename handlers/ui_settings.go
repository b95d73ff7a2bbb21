package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/auth"
	"baton/storage"
	"baton/views/pages"
)

func (h *Handler) tokensModel(r *http.Request) (pages.Tokens, error) {
	m := pages.Tokens{Layout: h.page(r, "API tokens", "settings"), Now: time.Now()}
	toks, err := h.store.ListAPITokens(r.Context(), currentUser(r).ID)
	for _, t := range toks {
		m.Tokens = append(m.Tokens, pages.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: t.CreatedAt, LastUsed: t.LastUsedAt})
	}
	return m, err
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) {
	m, err := h.tokensModel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.TokensPage(m))
}

// tokenCreate makes a token and shows it once, on the page that answers
// the form (it is never stored in the clear, nor put in the session).
func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	token, hash, prefix := auth.NewToken()
	var err error
	if name == "" || len(name) > 100 {
		err = errors.New("give the token a name of at most 100 characters, such as ci or laptop")
	} else {
		_, err = h.store.CreateAPIToken(r.Context(), currentUser(r).ID, name, hash, prefix)
	}
	m, lerr := h.tokensModel(r)
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	if err != nil {
		m.Error = err.Error()
		h.render(w, r, http.StatusUnprocessableEntity, pages.TokensPage(m))
		return
	}
	m.NewToken, m.NewName = token, name
	h.render(w, r, http.StatusOK, pages.TokensPage(m))
}

func (h *Handler) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, &badInput{"token id is not a number"})
		return
	}
	if err := h.store.DeleteAPIToken(r.Context(), currentUser(r).ID, id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessionsEnded.ring() // websockets opened with the token close
	h.flash(r, true, "The token is revoked; requests with it are refused from now on.")
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
}

func (h *Handler) usersModel(r *http.Request) (pages.Users, error) {
	m := pages.Users{Layout: h.page(r, "Users", "settings"), Now: time.Now(), Me: currentUser(r).Name}
	users, err := h.store.ListUsers(r.Context())
	for _, u := range users {
		m.Users = append(m.Users, pages.UserRow{Name: u.Name, Created: u.CreatedAt})
	}
	return m, err
}

func (h *Handler) users(w http.ResponseWriter, r *http.Request) {
	m, err := h.usersModel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.UsersPage(m))
}

// createUser checks the name and stores the user with password.
func (h *Handler) createUser(ctx context.Context, name, password string) error {
	if err := auth.CheckUserName(name); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := h.store.CreateUser(ctx, name, hash); errors.Is(err, storage.ErrConflict) {
		return errors.New("there is already a user called " + name)
	} else if err != nil {
		return err
	}
	return nil
}

// userAdd adds a user with a random password, shown once.
func (h *Handler) userAdd(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	password := auth.RandomPassword()
	err := h.createUser(r.Context(), name, password)
	m, lerr := h.usersModel(r)
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	if err != nil {
		m.Error = err.Error()
		h.render(w, r, http.StatusUnprocessableEntity, pages.UsersPage(m))
		return
	}
	m.NewUser, m.NewPassword = name, password
	h.render(w, r, http.StatusOK, pages.UsersPage(m))
}

func (h *Handler) userRemove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == currentUser(r).Name {
		h.fail(w, r, &badInput{"you cannot remove yourself; ask another user, or use `baton user remove` on the server"})
		return
	}
	if err := h.store.DeleteUser(r.Context(), name); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessionsEnded.ring()
	h.log.Info("user removed", "user", name, "by", currentUser(r).Name)
	h.flash(r, true, "User "+name+" removed, with their tokens; their sessions are logged out.")
	http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
}

// passwordChange sets the user's own password. Every other session of the
// user ends (and its websockets close); this one goes on with a new token,
// so that a copy of its old token, if that is why the password changed, is
// worth nothing. API tokens stay valid.
func (h *Handler) passwordChange(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	fail := func(status int, msg string) {
		m, err := h.usersModel(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		m.PassError = msg
		h.render(w, r, status, pages.UsersPage(m))
	}
	if status, msg := readAuthForm(w, r); status != 0 {
		fail(status, msg)
		return
	}
	addr := h.clientAddr(r)
	if no := h.logins.attempt(u.Name, addr); no != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(no.wait.Seconds()))))
		fail(http.StatusTooManyRequests, "Too many attempts: "+no.retryText()+".")
		return
	}
	if auth.CheckPassword(u.PasswordHash, r.PostFormValue("current")) != nil {
		h.loginFailed(u.Name, addr, "wrong current password on a password change")
		fail(http.StatusUnprocessableEntity, "The current password is wrong.")
		return
	}
	hash, err := auth.HashPassword(r.PostFormValue("new"))
	if err != nil {
		fail(http.StatusUnprocessableEntity, capitalize(err.Error())+".")
		return
	}
	ended, err := h.store.SetPassword(r.Context(), u.Name, hash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logins.succeed(u.Name, addr)
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessionsEnded.ring()
	h.log.Info("password changed", "user", u.Name, "addr", addr.String(), "sessions_ended", ended)
	h.flash(r, true, "Your password is changed. Your other sessions are logged out; your API tokens stay valid.")
	http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
}

// apiMe says who the API token or session belongs to.
func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": currentUser(r).Name})
}
