package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"baton/auth"
	"baton/model"
	"baton/views/pages"
)

// maxAuthForm bounds the login and password forms, read before they are
// parsed: a name, a password or two, and where to go next.
const maxAuthForm = 16 << 10

// maxNext is the longest ?next= path kept; a longer one goes to the dashboard.
const maxNext = 2048

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if u, _ := h.authenticate(r, true); u != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, pages.LoginPage(pages.Login{Layout: h.page(r, "Log in", ""), Next: next}))
}

// readAuthForm parses a small form, or says what was wrong with it.
func readAuthForm(w http.ResponseWriter, r *http.Request) (int, string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthForm)
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "The form was larger than " + byteSize(maxAuthForm) + "; send just the fields of the form."
	case err != nil:
		return http.StatusBadRequest, "The form could not be read (" + err.Error() + "); reload the page and try again."
	}
	return 0, ""
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	status, msg := readAuthForm(w, r)
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	again := func(status int, msg string) {
		h.render(w, r, status, pages.LoginPage(pages.Login{Layout: h.page(r, "Log in", ""), Name: name, Next: next, Error: msg}))
	}
	if status != 0 {
		again(status, msg)
		return
	}
	addr := h.clientAddr(r)
	if no := h.logins.attempt(name, addr); no != nil {
		h.log.Warn("login refused", "user", name, "addr", addr.String(), "reason", no.Error(), "retry_in", no.wait.Round(time.Second).String())
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(no.wait.Seconds()))))
		if no.byName {
			again(http.StatusTooManyRequests, "Too many failed logins for "+name+": "+no.retryText()+".")
		} else {
			again(http.StatusTooManyRequests, "Too many login attempts from your address: "+no.retryText()+".")
		}
		return
	}
	u, err := h.store.GetUser(r.Context(), name)
	switch {
	case errors.Is(err, model.ErrNotFound):
		auth.CheckNoUser(password)
		h.loginFailed(name, addr, "no such user")
		again(http.StatusUnauthorized, "Wrong user name or password.")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if auth.CheckPassword(u.PasswordHash, password) != nil {
		h.loginFailed(name, addr, "wrong password")
		again(http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	h.logins.succeed(name, addr)
	// A new session token on login, so a token planted before cannot ride along.
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionUserKey, u.ID)
	h.log.Info("logged in", "user", u.Name, "addr", addr.String())
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// loginFailed logs a failed login (the throttle counted it as it began).
func (h *Handler) loginFailed(name string, addr netip.Addr, reason string) {
	if lock := h.logins.lockedFor(name); lock > 0 {
		h.log.Warn("login failed", "user", name, "addr", addr.String(), "reason", reason, "name_locked_for", lock.Round(time.Second).String())
		return
	}
	h.log.Warn("login failed", "user", name, "addr", addr.String(), "reason", reason)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.Destroy(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site. next must be a path
// of this server, such as /runs?status=failed; anything else goes to the
// dashboard: another origin, a scheme (javascript:, https:), and what a
// browser would read as one: a second slash or a backslash after the
// first ("//evil", "/\evil"), and tabs, newlines and other control
// characters, which browsers drop from a URL ("/<tab>/evil" is "//evil").
// The path is sent as it was checked, escaped again from its parsed form.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > maxNext {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	if len(next) > 1 && next[1] == '/' {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.Contains(out, `\`) {
		return "/"
	}
	return out
}
