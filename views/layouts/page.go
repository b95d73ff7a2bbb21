// Package layouts holds the page frame every screen of the web UI shares.
package layouts

// Page is what the frame needs: the title, who is logged in, which
// navigation entry is current, live badge counts and a one-off message.
type Page struct {
	Title   string
	Nav     string // "dashboard", "compositions", "runs", "agents", "settings"
	User    string // empty on pages shown before login
	Badges  Badges
	Flash   *Flash
	Assets  Assets
	Version string
}

// Badges are the live counters in the navigation.
type Badges struct {
	Running int
	Waiting int
}

// Flash is a message shown once at the top of a page.
type Flash struct {
	OK   bool
	Text string
}

// Assets are the content-hashed URLs of the static files.
type Assets struct {
	CSS, AppJS, RunJS, HTMX, Logo string
	EditorJS, Sortable            string
}
