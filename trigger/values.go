package trigger

import (
	"math"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"baton/composition"
	"baton/yamltree"
)

var (
	sizeRe   = regexp.MustCompile(`^(\d+)\s*([A-Za-z]*)$`)
	rateRe   = regexp.MustCompile(`^(\d+)\s*/\s*([A-Za-z]+)$`)
	headerRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	daysRe   = regexp.MustCompile(`^(\d+)d$`)
)

// DefaultSignatureHeader is the header a generic hmac webhook reads its
// signature from when auth.header is not given.
const DefaultSignatureHeader = "X-Signature-256"

// The modes of a generic webhook's auth.
const (
	AuthHMAC   = "hmac"
	AuthBearer = "bearer"
)

// size reads max_body: a whole number with the unit B, KiB or MiB.
func (d *decoder) size(n *yamltree.Node) (int64, bool) {
	const hint = "max_body must be a size in B, KiB or MiB such as 512KiB or 1MiB"
	s, isText := n.Value.(string)
	if n.Kind != yamltree.Scalar || !isText {
		if _, isNum := n.Value.(float64); isNum && n.Kind == yamltree.Scalar {
			d.probs.add(n.Pos, "%s, not a bare number; did you mean %q?", hint, n.Text+"B")
		} else {
			d.probs.add(n.Pos, "%s, not %s", hint, yamltree.Describe(n))
		}
		return 0, false
	}
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		d.probs.add(n.Pos, "%s, not %s", hint, quote(s))
		return 0, false
	}
	num, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || num > MaxBodyLimit {
		num = MaxBodyLimit + 1
	}
	var unit int64
	switch strings.ToLower(m[2]) {
	case "b":
		unit = 1
	case "kib":
		unit = 1 << 10
	case "mib":
		unit = 1 << 20
	case "k", "kb":
		d.probs.add(n.Pos, "%s, not %s; did you mean %q? (1 KiB is 1024 bytes)", hint, quote(s), m[1]+"KiB")
		return 0, false
	case "m", "mb":
		d.probs.add(n.Pos, "%s, not %s; did you mean %q? (1 MiB is 1024 KiB)", hint, quote(s), m[1]+"MiB")
		return 0, false
	default:
		d.probs.add(n.Pos, "%s, not %s", hint, quote(s))
		return 0, false
	}
	switch {
	case num == 0:
		d.probs.add(n.Pos, "max_body must be more than 0")
		return 0, false
	case num > MaxBodyLimit/unit:
		d.probs.add(n.Pos, "max_body %s is over the limit of 25MiB", quote(s))
		return 0, false
	}
	return num * unit, true
}

// rate reads rate: "60/min", "5/s", "100/h", or {events, per, burst}.
func (d *decoder) rate(n *yamltree.Node) (Rate, bool) {
	switch n.Kind {
	case yamltree.Scalar:
		return d.rateText(n)
	case yamltree.Map:
	default:
		d.probs.add(n.Pos, "rate must be a limit such as 60/min or {events: 60, per: 1m, burst: 10}, not %s", yamltree.Describe(n))
		return Rate{}, false
	}
	f := d.fields(n, "rate", "rate", []string{"events", "per", "burst"})
	r := Rate{Per: time.Minute}
	ok := true
	if e, has := f["events"]; has {
		r.Events, ok = d.count(e.Val, "events in rate", 1_000_000)
	} else {
		d.probs.add(n.Pos, "rate needs events: how many events per period are accepted")
		ok = false
	}
	if e, has := f["per"]; has {
		per, good := d.duration(e.Val, "per in rate")
		if good && (per < time.Second || per > 24*time.Hour) {
			d.probs.add(e.Val.Pos, "per in rate must be between 1s and 24h")
			good = false
		}
		r.Per, ok = per, ok && good
	}
	r.Burst = min(r.Events, MaxBurst)
	if e, has := f["burst"]; has {
		b, good := d.count(e.Val, "burst in rate", 1_000_000)
		r.Burst, ok = b, ok && good
	}
	return r, ok
}

func (d *decoder) rateText(n *yamltree.Node) (Rate, bool) {
	s, _ := n.Value.(string)
	m := rateRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		d.probs.add(n.Pos, "rate must be a limit such as 60/min, 5/s or 100/h, not %s", yamltree.Describe(n))
		return Rate{}, false
	}
	events, err := strconv.Atoi(m[1])
	if err != nil || events < 1 || events > 1_000_000 {
		d.probs.add(n.Pos, "rate must allow between 1 and 1000000 events per period, not %s", m[1])
		return Rate{}, false
	}
	var per time.Duration
	switch strings.ToLower(m[2]) {
	case "s", "sec", "second":
		per = time.Second
	case "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		hint := composition.DidYouMean(m[2], []string{"s", "min", "h"})
		if strings.EqualFold(m[2], "m") {
			hint = `; did you mean "min"?`
		}
		d.probs.add(n.Pos, "rate's period must be s, min or h, not %s%s", quote(m[2]), hint)
		return Rate{}, false
	}
	return Rate{Events: events, Per: per, Burst: min(events, MaxBurst)}, true
}

// count reads a whole number between 1 and limit.
func (d *decoder) count(n *yamltree.Node, subj string, limit int) (int, bool) {
	f, ok := n.Value.(float64)
	if n.Kind == yamltree.Scalar && ok && f >= 1 && f <= float64(limit) && f == math.Trunc(f) {
		return int(f), true
	}
	d.probs.add(n.Pos, "%s must be a whole number between 1 and %d, not %s", subj, limit, yamltree.Describe(n))
	return 0, false
}

func (d *decoder) duration(n *yamltree.Node, subj string) (time.Duration, bool) {
	if s, ok := n.Value.(string); ok && n.Kind == yamltree.Scalar {
		if dur, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return dur, true
		}
	}
	if _, isNum := n.Value.(float64); isNum && n.Kind == yamltree.Scalar {
		d.probs.add(n.Pos, "%s must be a duration with a unit, such as %ss or %sm, not %s", subj, n.Text, n.Text, n.Text)
		return 0, false
	}
	d.probs.add(n.Pos, "%s must be a duration such as 1s, 1m or 1h, not %s", subj, yamltree.Describe(n))
	return 0, false
}

// replayWindow reads replay_window: a duration such as 30m, 24h or 7d
// between MinReplayWindow and MaxReplayWindow, or off (ReplayOff).
func (d *decoder) replayWindow(n *yamltree.Node) (time.Duration, bool) {
	const bounds = "replay_window must be off or between 1m and 30d (720h)"
	s, isText := n.Value.(string)
	if _, isNum := n.Value.(float64); isNum && n.Kind == yamltree.Scalar {
		d.probs.add(n.Pos, "replay_window must be a duration with a unit, such as 24h or 7d, not the bare number %s", n.Text)
		return 0, false
	}
	if off, isBool := n.Value.(bool); isBool && !off && n.Kind == yamltree.Scalar {
		return ReplayOff, true // YAML 1.1 reads a bare off as false
	}
	if n.Kind != yamltree.Scalar || !isText {
		d.probs.add(n.Pos, "%s, such as 24h or 7d, not %s", bounds, yamltree.Describe(n))
		return 0, false
	}
	s = strings.TrimSpace(s)
	if s == "off" {
		return ReplayOff, true
	}
	var w time.Duration
	if m := daysRe.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 30 {
			days = 31
		}
		w = time.Duration(days) * 24 * time.Hour
	} else if dur, err := time.ParseDuration(s); err == nil {
		w = dur
	} else {
		d.probs.add(n.Pos, "replay_window must be off or a duration such as 30m, 24h or 7d, not %s", quote(s))
		return 0, false
	}
	if w < MinReplayWindow || w > MaxReplayWindow {
		d.probs.add(n.Pos, "%s, not %s", bounds, quote(s))
		return 0, false
	}
	return w, true
}

// auth reads a generic webhook's auth: a mode ("hmac", "bearer") or
// {mode, header}.
func (d *decoder) auth(n *yamltree.Node) GenericAuth {
	a := GenericAuth{Mode: AuthHMAC, Header: DefaultSignatureHeader}
	modeNode, headerNode := n, (*yamltree.Node)(nil)
	switch n.Kind {
	case yamltree.Null:
		return a
	case yamltree.Map:
		f := d.fields(n, "auth", "auth", []string{"mode", "header"})
		modeNode = nil
		if e, ok := f["mode"]; ok {
			modeNode = e.Val
		}
		if e, ok := f["header"]; ok {
			headerNode = e.Val
		}
	case yamltree.List:
		d.probs.add(n.Pos, "auth must be {mode: hmac, header: X-Signature-256} or {mode: bearer}, not a list")
		return a
	}
	if modeNode != nil {
		if s, ok := d.text(modeNode, "mode in auth"); ok && s != "" {
			if s != AuthHMAC && s != AuthBearer {
				d.probs.add(modeNode.Pos, "mode in auth must be hmac or bearer, not %s%s", quote(s), composition.DidYouMean(s, []string{AuthHMAC, AuthBearer}))
			} else {
				a.Mode = s
			}
		}
	}
	if headerNode == nil {
		return a
	}
	h, ok := d.text(headerNode, "header in auth")
	switch {
	case !ok:
	case a.Mode == AuthBearer:
		d.probs.add(headerNode.Pos, "header in auth applies only to mode hmac; bearer mode reads Authorization: Bearer <secret>, so remove it")
	case !headerRe.MatchString(h):
		d.probs.add(headerNode.Pos, "header in auth must be a header name such as X-Signature-256, not %s", quote(h))
	default:
		a.Header = textproto.CanonicalMIMEHeaderKey(h)
	}
	return a
}
