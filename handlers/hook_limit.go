package handlers

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The budget of refused webhook requests (a bad or missing signature or
// token, a body too large or malformed) each client address has. Over it,
// an address is answered 429 before its body is read or verified, unless
// the request carries the signature or token header its trigger checks:
// that one is still verified (an HMAC is cheap), so a flood of unsigned
// requests from a shared address never turns signed deliveries away.
const (
	hookRefusedBurst = 20              // refused requests an address may send in a row
	hookRefusedEvery = 6 * time.Second // one more comes back this often (10 a minute)
	hookRefusedAddrs = 10_000          // addresses remembered; the one seen longest ago is forgotten first
)

// refusals counts refused requests per trigger and client address (so a
// sender refused by one trigger does not shut it out of another), as a token bucket
// each: burst refusals at once, one more every interval. Memory is bounded:
// it remembers at most max addresses and forgets the one seen longest ago
// to make room, so many addresses cost a fixed amount, and an address that
// keeps knocking while over its budget stays remembered.
type refusals struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	max     int
	entries map[string]*list.Element // of *refusal, by budgetKey
	order   *list.List               // most recently seen first
}

// refusal is one address's budget.
type refusal struct {
	key string
	lim *rate.Limiter
}

func newRefusals(burst int, interval time.Duration, max int) *refusals {
	return &refusals{every: rate.Every(interval), burst: burst, max: max, entries: map[string]*list.Element{}, order: list.New()}
}

// limited reports whether addr has used up its budget with trigger at
// now, and if so how long until it may send one more request.
func (l *refusals) limited(trigger, addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[trigger+"\x00"+budgetKey(addr)]
	if !ok {
		return 0, false
	}
	l.order.MoveToFront(e)
	tokens := e.Value.(*refusal).lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(l.every) * float64(time.Second)), true
}

// refuse counts one refused request from addr to trigger at now. It
// reports whether
// this one used up the address's budget, so that the change is logged once.
func (l *refusals) refuse(trigger, addr string, now time.Time) bool {
	key := trigger + "\x00" + budgetKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if ok {
		l.order.MoveToFront(e)
	} else {
		if l.order.Len() >= l.max {
			oldest := l.order.Back()
			l.order.Remove(oldest)
			delete(l.entries, oldest.Value.(*refusal).key)
		}
		e = l.order.PushFront(&refusal{key: key, lim: rate.NewLimiter(l.every, l.burst)})
		l.entries[key] = e
	}
	lim := e.Value.(*refusal).lim
	had := lim.TokensAt(now) >= 1
	lim.AllowN(now, 1)
	return had && lim.TokensAt(now) < 1
}

// budgetKey is the budget an address draws on: the one client addrKey
// groups it with (an IPv4 address alone, an IPv6 address by its /64, so a
// sender cannot get a fresh budget per address). What is not an address is
// cut to 64 bytes.
func budgetKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return addr
	}
	return addrKey(ip.WithZone("").Unmap()).String()
}
