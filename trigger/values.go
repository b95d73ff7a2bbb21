package trigger

import (
	"math"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
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
func (d *decoder) size(n *node) (int64, bool) {
	const hint = "max_body must be a size in B, KiB or MiB such as 512KiB or 1MiB"
	s, isText := n.value.(string)
	if n.kind != nodeScalar || !isText {
		if _, isNum := n.value.(float64); isNum && n.kind == nodeScalar {
			d.probs.add(n.pos, "%s, not a bare number; did you mean %q?", hint, n.text+"B")
		} else {
			d.probs.add(n.pos, "%s, not %s", hint, describe(n))
		}
		return 0, false
	}
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		d.probs.add(n.pos, "%s, not %s", hint, quote(s))
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
		d.probs.add(n.pos, "%s, not %s; did you mean %q? (1 KiB is 1024 bytes)", hint, quote(s), m[1]+"KiB")
		return 0, false
	case "m", "mb":
		d.probs.add(n.pos, "%s, not %s; did you mean %q? (1 MiB is 1024 KiB)", hint, quote(s), m[1]+"MiB")
		return 0, false
	default:
		d.probs.add(n.pos, "%s, not %s", hint, quote(s))
		return 0, false
	}
	switch {
	case num == 0:
		d.probs.add(n.pos, "max_body must be more than 0")
		return 0, false
	case num > MaxBodyLimit/unit:
		d.probs.add(n.pos, "max_body %s is over the limit of 25MiB", quote(s))
		return 0, false
	}
	return num * unit, true
}

// rate reads rate: "60/min", "5/s", "100/h", or {events, per, burst}.
func (d *decoder) rate(n *node) (Rate, bool) {
	switch n.kind {
	case nodeScalar:
		return d.rateText(n)
	case nodeMap:
	default:
		d.probs.add(n.pos, "rate must be a limit such as 60/min or {events: 60, per: 1m, burst: 10}, not %s", describe(n))
		return Rate{}, false
	}
	f := d.fields(n, "rate", "rate", []string{"events", "per", "burst"})
	r := Rate{Per: time.Minute}
	ok := true
	if e, has := f["events"]; has {
		r.Events, ok = d.count(e.val, "events in rate", 1_000_000)
	} else {
		d.probs.add(n.pos, "rate needs events: how many events per period are accepted")
		ok = false
	}
	if e, has := f["per"]; has {
		per, good := d.duration(e.val, "per in rate")
		if good && (per < time.Second || per > 24*time.Hour) {
			d.probs.add(e.val.pos, "per in rate must be between 1s and 24h")
			good = false
		}
		r.Per, ok = per, ok && good
	}
	r.Burst = min(r.Events, MaxBurst)
	if e, has := f["burst"]; has {
		b, good := d.count(e.val, "burst in rate", 1_000_000)
		r.Burst, ok = b, ok && good
	}
	return r, ok
}

func (d *decoder) rateText(n *node) (Rate, bool) {
	s, _ := n.value.(string)
	m := rateRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		d.probs.add(n.pos, "rate must be a limit such as 60/min, 5/s or 100/h, not %s", describe(n))
		return Rate{}, false
	}
	events, err := strconv.Atoi(m[1])
	if err != nil || events < 1 || events > 1_000_000 {
		d.probs.add(n.pos, "rate must allow between 1 and 1000000 events per period, not %s", m[1])
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
		hint := didYouMean(m[2], []string{"s", "min", "h"})
		if strings.EqualFold(m[2], "m") {
			hint = `; did you mean "min"?`
		}
		d.probs.add(n.pos, "rate's period must be s, min or h, not %s%s", quote(m[2]), hint)
		return Rate{}, false
	}
	return Rate{Events: events, Per: per, Burst: min(events, MaxBurst)}, true
}

// count reads a whole number between 1 and limit.
func (d *decoder) count(n *node, subj string, limit int) (int, bool) {
	f, ok := n.value.(float64)
	if n.kind == nodeScalar && ok && f >= 1 && f <= float64(limit) && f == math.Trunc(f) {
		return int(f), true
	}
	d.probs.add(n.pos, "%s must be a whole number between 1 and %d, not %s", subj, limit, describe(n))
	return 0, false
}

func (d *decoder) duration(n *node, subj string) (time.Duration, bool) {
	if s, ok := n.value.(string); ok && n.kind == nodeScalar {
		if dur, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return dur, true
		}
	}
	if _, isNum := n.value.(float64); isNum && n.kind == nodeScalar {
		d.probs.add(n.pos, "%s must be a duration with a unit, such as %ss or %sm, not %s", subj, n.text, n.text, n.text)
		return 0, false
	}
	d.probs.add(n.pos, "%s must be a duration such as 1s, 1m or 1h, not %s", subj, describe(n))
	return 0, false
}

// replayWindow reads replay_window: a duration such as 30m, 24h or 7d
// between MinReplayWindow and MaxReplayWindow.
func (d *decoder) replayWindow(n *node) (time.Duration, bool) {
	const bounds = "replay_window must be between 1m and 30d (720h)"
	s, isText := n.value.(string)
	if _, isNum := n.value.(float64); isNum && n.kind == nodeScalar {
		d.probs.add(n.pos, "replay_window must be a duration with a unit, such as 24h or 7d, not the bare number %s", n.text)
		return 0, false
	}
	if n.kind != nodeScalar || !isText {
		d.probs.add(n.pos, "%s, such as 24h or 7d, not %s", bounds, describe(n))
		return 0, false
	}
	s = strings.TrimSpace(s)
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
		d.probs.add(n.pos, "replay_window must be a duration such as 30m, 24h or 7d, not %s", quote(s))
		return 0, false
	}
	if w < MinReplayWindow || w > MaxReplayWindow {
		d.probs.add(n.pos, "%s, not %s", bounds, quote(s))
		return 0, false
	}
	return w, true
}

// auth reads a generic webhook's auth: a mode ("hmac", "bearer") or
// {mode, header}.
func (d *decoder) auth(n *node) GenericAuth {
	a := GenericAuth{Mode: AuthHMAC, Header: DefaultSignatureHeader}
	modeNode, headerNode := n, (*node)(nil)
	switch n.kind {
	case nodeNull:
		return a
	case nodeMap:
		f := d.fields(n, "auth", "auth", []string{"mode", "header"})
		modeNode = nil
		if e, ok := f["mode"]; ok {
			modeNode = e.val
		}
		if e, ok := f["header"]; ok {
			headerNode = e.val
		}
	case nodeList:
		d.probs.add(n.pos, "auth must be {mode: hmac, header: X-Signature-256} or {mode: bearer}, not a list")
		return a
	}
	if modeNode != nil {
		if s, ok := d.text(modeNode, "mode in auth"); ok && s != "" {
			if s != AuthHMAC && s != AuthBearer {
				d.probs.add(modeNode.pos, "mode in auth must be hmac or bearer, not %s%s", quote(s), didYouMean(s, []string{AuthHMAC, AuthBearer}))
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
		d.probs.add(headerNode.pos, "header in auth applies only to mode hmac; bearer mode reads Authorization: Bearer <secret>, so remove it")
	case !headerRe.MatchString(h):
		d.probs.add(headerNode.pos, "header in auth must be a header name such as X-Signature-256, not %s", quote(h))
	default:
		a.Header = textproto.CanonicalMIMEHeaderKey(h)
	}
	return a
}
