package components

import (
	"strconv"

	"github.com/a-h/templ"
)

// icons are the task type icons a manifest may name (icon: cloud), drawn
// here as 24×24 strokes that take the text colour.
var icons = map[string]string{
	"terminal":     `<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 9l3 3-3 3M12 15h5"/>`,
	"globe":        `<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3.5 3.5 3.5 14.5 0 18M12 3c-3.5 3.5-3.5 14.5 0 18"/>`,
	"check-circle": `<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.8 2.8L16.5 9"/>`,
	"workflow":     `<rect x="3" y="3" width="8" height="6" rx="1.5"/><rect x="13" y="15" width="8" height="6" rx="1.5"/><path d="M7 9v4a3 3 0 0 0 3 3h3"/>`,
	"hourglass":    `<path d="M6 3h12M6 21h12M7.5 3v3.5L12 12l4.5-5.5V3M7.5 21v-3.5L12 12l4.5 5.5V21"/>`,
	"clock":        `<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3.5 2"/>`,
	"cloud":        `<path d="M7 19h10.5a4.5 4.5 0 0 0 .6-8.96A6.5 6.5 0 0 0 5.6 10.2 4.5 4.5 0 0 0 7 19z"/>`,
	"cloud-off":    `<path d="M7 19h10.5a4.5 4.5 0 0 0 .6-8.96A6.5 6.5 0 0 0 5.6 10.2 4.5 4.5 0 0 0 7 19zM4 4l16 16"/>`,
	"package":      `<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/><path d="M4 7.5l8 4.5 8-4.5M12 12v9"/>`,
	"bell":         `<path d="M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z"/><path d="M10 20.5a2 2 0 0 0 4 0"/>`,
	"git-branch":   `<circle cx="6" cy="5" r="2"/><circle cx="6" cy="19" r="2"/><circle cx="18" cy="7" r="2"/><path d="M6 7v10M18 9c0 4-6 3-11.2 8.2"/>`,
	"server":       `<rect x="3" y="4" width="18" height="7" rx="1.5"/><rect x="3" y="13" width="18" height="7" rx="1.5"/><path d="M7 7.5h.01M7 16.5h.01"/>`,
	"rocket":       `<path d="M12 3c4 2 6 6 5 11l-3 3h-4l-3-3C6 9 8 5 12 3z"/><circle cx="12" cy="10" r="1.8"/><path d="M9 17l-2 4M15 17l2 4"/>`,
	"database":     `<ellipse cx="12" cy="5.5" rx="7" ry="2.5"/><path d="M5 5.5v13c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5v-13M5 12c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5"/>`,
	"mail":         `<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3.5 6.5L12 13l8.5-6.5"/>`,
	"copy":         `<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V6a2 2 0 0 0-2-2H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2"/>`,
	"x":            `<path d="M6 6l12 12M18 6L6 18"/>`,
	"arrow-up":     `<path d="M12 19V5M6 11l6-6 6 6"/>`,
	"arrow-down":   `<path d="M12 5v14M6 13l6 6 6-6"/>`,
	"box":          `<rect x="4" y="4" width="16" height="16" rx="3"/><path d="M9 12h6"/>`,
}

// IconNames lists the icon names a task type may use.
func IconNames() []string {
	names := make([]string, 0, len(icons))
	for n := range icons {
		names = append(names, n)
	}
	return names
}

// Icon draws the named task type icon; unknown names get a plain box.
func Icon(name string) templ.Component { return SizedIcon(name, 18) }

// SizedIcon is Icon at a size in pixels.
func SizedIcon(name string, size int) templ.Component {
	body, ok := icons[name]
	if !ok {
		body = icons["box"]
	}
	px := strconv.Itoa(size)
	return templ.Raw(`<svg class="icon" viewBox="0 0 24 24" width="` + px + `" height="` + px + `" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">` + body + `</svg>`)
}
