package handlers

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// throttleRules say how hard the login throttle holds back.
type throttleRules struct {
	addrBurst  int           // attempts an address may make at once
	addrRefill time.Duration // an address gets one more attempt per this
	freeFails  int           // failures of a user name before lockouts start
	lockBase   time.Duration // the first lockout; each failure after doubles it
	lockCap    time.Duration // the longest lockout
	forget     time.Duration // failures of a name are forgotten after this quiet
	knownFor   time.Duration // how long an address that logged a user in stays known
	knownPer   int           // known addresses kept per user name
	maxEntries int           // entries per table, so memory stays bounded
}

// defaultThrottle is 10 attempts a minute per address; per user name 5
// free failures, then lockouts of 1 s, 2 s, 4 s, ... up to 15 minutes after
// each further failure, so a guesser gets about a hundred guesses a day
// however many addresses it has. Each table holds at most 10,000 entries.
func defaultThrottle() throttleRules {
	return throttleRules{
		addrBurst: 10, addrRefill: 6 * time.Second,
		freeFails: 5, lockBase: time.Second, lockCap: 15 * time.Minute, forget: 24 * time.Hour,
		knownFor: 30 * 24 * time.Hour, knownPer: 4,
		maxEntries: 10000,
	}
}

// maxNameKey bounds the bytes of a user name the throttle keeps: longer
// names cannot exist (auth.CheckUserName) and all share one entry.
const maxNameKey = 65

// loginThrottle slows password guessing, by client address and by user
// name. Each address has a bucket of attempts. Each user name counts its
// failures; past a few, every failure locks the name for twice as long as
// the one before, up to a cap, and attempts during a lock are refused
// without looking at the password. The lock is bounded in time and does not
// apply to an address the user logged in from before (it is "known"), so
// an attacker guessing from elsewhere can delay a user but not shut them
// out; the address bucket applies to everyone, known or not (an attacker
// sharing the user's address can hold them back a minute at a time). The tables are
// bounded: when one is full, the least useful of a few sampled entries
// makes room, so a flood of made-up names or addresses cannot push out a
// name under attack.
type loginThrottle struct {
	rules throttleRules
	now   func() time.Time

	mu    sync.Mutex
	addrs map[netip.Prefix]*bucket
	names map[string]*failures
	known map[string]*knownAddrs
	swept time.Time
}

// bucket is a token bucket of login attempts.
type bucket struct {
	tokens float64
	at     time.Time
}

// failures is what the throttle remembers of a user name.
type failures struct {
	count int
	last  time.Time // of the last failure
	until time.Time // locked until
}

// knownAddrs are the addresses a user name logged in from, with when it
// last did from each, newest last.
type knownAddrs struct {
	addrs []netip.Prefix
	at    []time.Time
}

// last is when the name last logged in.
func (k *knownAddrs) last() time.Time { return k.at[len(k.at)-1] }

func newLoginThrottle(rules throttleRules, now func() time.Time) *loginThrottle {
	return &loginThrottle{rules: rules, now: now, addrs: map[netip.Prefix]*bucket{},
		names: map[string]*failures{}, known: map[string]*knownAddrs{}}
}

// addrKey groups addresses the way one client holds them: an IPv4 address
// alone, an IPv6 address by its /64 (one subscriber's network).
func addrKey(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, 32)
}

func nameKey(name string) string {
	if len(name) > maxNameKey {
		return name[:maxNameKey]
	}
	return name
}

// refused says why an attempt is held back and for how long.
type refused struct {
	wait   time.Duration
	byName bool // the user name is locked, not the address
}

func (r *refused) Error() string {
	if r.byName {
		return "too many failed logins for this user name"
	}
	return "too many login attempts from this address"
}

// retryText says when to try again, in words.
func (r *refused) retryText() string {
	s := int(r.wait.Round(time.Second) / time.Second)
	switch {
	case s <= 1:
		return "try again in a second"
	case s < 120:
		return fmt.Sprintf("try again in %d seconds", s)
	}
	return fmt.Sprintf("try again in %d minutes", (s+59)/60)
}

// attempt takes one attempt for name from addr, or says why not. An
// attempt counts as a failure of the name until succeed says otherwise:
// counted when it is made, not when its password check ends, so guesses
// sent all at once are held back like guesses sent one after another.
func (t *loginThrottle) attempt(name string, addr netip.Addr) *refused {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	b := t.bucketOf(addrKey(addr), now)
	if b.tokens < 1 {
		return &refused{wait: time.Duration((1 - b.tokens) * float64(t.rules.addrRefill))}
	}
	b.tokens--
	key := nameKey(name)
	f := t.names[key]
	if f != nil && now.Before(f.until) && !t.isKnown(key, addr, now) {
		return &refused{wait: f.until.Sub(now), byName: true}
	}
	if f == nil || now.Sub(f.last) > t.rules.forget {
		if f == nil {
			t.makeRoom(len(t.names), func() { evictName(t.names, now) })
		}
		f = &failures{}
		t.names[key] = f
	}
	f.count++
	f.last = now
	if over := f.count - t.rules.freeFails; over > 0 {
		lock := t.rules.lockCap
		if over <= 30 && t.rules.lockBase<<(over-1) < t.rules.lockCap {
			lock = t.rules.lockBase << (over - 1)
		}
		f.until = now.Add(lock)
	}
	return nil
}

// lockedFor says how long the name stays locked (0: it is not).
func (t *loginThrottle) lockedFor(name string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.names[nameKey(name)]; f != nil {
		return max(0, f.until.Sub(t.now()))
	}
	return 0
}

// succeed records a login: the name's failures are forgotten, the address
// becomes known for the name, and the attempt is given back to the address.
func (t *loginThrottle) succeed(name string, addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	key := nameKey(name)
	delete(t.names, key)
	if b := t.addrs[addrKey(addr)]; b != nil {
		b.tokens = min(b.tokens+1, float64(t.rules.addrBurst))
	}
	k := t.known[key]
	if k == nil {
		t.makeRoom(len(t.known), func() { evictKnown(t.known) })
		k = &knownAddrs{}
		t.known[key] = k
	}
	p := addrKey(addr)
	for i, a := range k.addrs {
		if a == p {
			k.addrs = append(k.addrs[:i], k.addrs[i+1:]...)
			k.at = append(k.at[:i], k.at[i+1:]...)
			break
		}
	}
	k.addrs, k.at = append(k.addrs, p), append(k.at, now)
	if len(k.addrs) > t.rules.knownPer {
		k.addrs, k.at = k.addrs[1:], k.at[1:]
	}
}

// isKnown says whether the name logged in from addr within knownFor.
func (t *loginThrottle) isKnown(key string, addr netip.Addr, now time.Time) bool {
	k := t.known[key]
	if k == nil {
		return false
	}
	p := addrKey(addr)
	for i, a := range k.addrs {
		if a == p {
			return now.Sub(k.at[i]) <= t.rules.knownFor
		}
	}
	return false
}

// bucketOf returns the bucket of an address, refilled to now.
func (t *loginThrottle) bucketOf(key netip.Prefix, now time.Time) *bucket {
	b := t.addrs[key]
	if b == nil {
		t.makeRoom(len(t.addrs), func() { evictBucket(t.addrs) })
		b = &bucket{tokens: float64(t.rules.addrBurst), at: now}
		t.addrs[key] = b
		return b
	}
	if gained := float64(now.Sub(b.at)) / float64(t.rules.addrRefill); gained > 0 {
		b.tokens = min(b.tokens+gained, float64(t.rules.addrBurst))
	}
	b.at = now
	return b
}

func (t *loginThrottle) makeRoom(size int, evict func()) {
	if size >= t.rules.maxEntries {
		evict()
	}
}

// evictSample is how many entries eviction compares.
const evictSample = 8

// evictName drops, of a few entries, the one that protects least: not
// locked, fewest failures, oldest.
func evictName(m map[string]*failures, now time.Time) {
	var victim string
	var worst *failures
	n := 0
	for k, f := range m {
		if worst == nil || lessUseful(f, worst, now) {
			victim, worst = k, f
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(m, victim)
}

func lessUseful(a, b *failures, now time.Time) bool {
	la, lb := now.Before(a.until), now.Before(b.until)
	if la != lb {
		return lb
	}
	if a.count != b.count {
		return a.count < b.count
	}
	return a.last.Before(b.last)
}

// evictBucket drops, of a few buckets, the fullest: it remembers least.
func evictBucket(m map[netip.Prefix]*bucket) {
	var victim netip.Prefix
	best := -1.0
	n := 0
	for k, b := range m {
		if b.tokens > best {
			victim, best = k, b.tokens
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(m, victim)
}

// evictKnown drops, of a few users, the one whose last login is oldest.
func evictKnown(m map[string]*knownAddrs) {
	var victim string
	var oldest time.Time
	n := 0
	for k, v := range m {
		if n == 0 || v.last().Before(oldest) {
			victim, oldest = k, v.last()
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(m, victim)
}

// sweep forgets, once a minute, what no longer matters: full buckets,
// failures past their forget time, known addresses past theirs.
func (t *loginThrottle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, b := range t.addrs {
		if b.tokens+float64(now.Sub(b.at))/float64(t.rules.addrRefill) >= float64(t.rules.addrBurst) {
			delete(t.addrs, k)
		}
	}
	for k, f := range t.names {
		if now.Sub(f.last) > t.rules.forget && !now.Before(f.until) {
			delete(t.names, k)
		}
	}
	for k, v := range t.known {
		if now.Sub(v.last()) > t.rules.knownFor {
			delete(t.known, k)
		}
	}
}
