package handlers

import (
	"bytes"
	"net/http"
	"net/url"
	"sync"

	"github.com/a-h/templ"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"baton/views/layouts"
	"baton/views/pages"
)

// page returns the frame model of a page for the current user.
func (h *Handler) page(r *http.Request, title, nav string) layouts.Page {
	p := layouts.Page{Title: title, Nav: nav, Assets: h.assets, Version: h.version}
	if u := currentUser(r); u != nil {
		p.User = u.Name
		if running, waiting, err := h.store.CountActive(r.Context()); err == nil {
			p.Badges = layouts.Badges{Running: running, Waiting: waiting}
		}
		if msg := h.sessions.PopString(r.Context(), "flash"); msg != "" {
			p.Flash = &layouts.Flash{OK: h.sessions.PopBool(r.Context(), "flash_ok"), Text: msg}
		}
	}
	return p
}

// flash leaves a message for the next page the user sees.
func (h *Handler) flash(r *http.Request, ok bool, msg string) {
	h.sessions.Put(r.Context(), "flash", msg)
	h.sessions.Put(r.Context(), "flash_ok", ok)
}

// render writes a component as an HTML response.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.log.Error("render failed", "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be rendered; the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage explains an error on a page of its own with a way back.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, headline, message, backURL, backText string) {
	if backURL == "" {
		backURL, backText = "/", "Back to the dashboard"
	}
	m := pages.ErrorPage{Layout: h.page(r, headline, ""), Status: status, Headline: headline, Message: message,
		BackURL: backURL, BackText: backText, LoggedIn: currentUser(r) != nil}
	h.render(w, r, status, pages.Error(m))
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing at "+r.URL.Path+". It may have been renamed or removed.", "", "")
}

func (h *Handler) apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, apiError{Error: "no API endpoint " + r.Method + " " + r.URL.Path + "; GET /api/v1/openapi.json lists them"})
}

var (
	mdOnce sync.Once
	md     goldmark.Markdown
)

// markdown renders markdown to HTML. Raw HTML in the source is dropped and
// dangerous link schemes are emptied (goldmark's safe default; never set
// html.WithUnsafe), so the result can be shown as is.
func markdown(src string) string {
	mdOnce.Do(func() { md = goldmark.New(goldmark.WithExtensions(extension.GFM)) })
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return "<p>" + templ.EscapeString(src) + "</p>"
	}
	return buf.String()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// isHTMX reports whether htmx sent the request (it wants a fragment).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// redirect sends the browser to url after a form post, with htmx or without.
func redirect(w http.ResponseWriter, r *http.Request, url string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", url)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}
