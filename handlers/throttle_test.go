package handlers

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// clock is a test clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }
func addr(s string) netip.Addr       { return netip.MustParseAddr(s) }
func nthAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}
func (r *refused) String() string { return fmt.Sprintf("%v by name %v", r.wait, r.byName) }

// TestThrottleLockoutGrowsAndIsBounded fails one name from a new address
// each time: the first five go through, then each lockout doubles, up to
// the cap, and it ends when its time is up.
func TestThrottleLockoutGrowsAndIsBounded(t *testing.T) {
	c := newClock()
	th := newLoginThrottle(defaultThrottle(), c.now)
	for i := range 5 {
		if no := th.attempt("admin", nthAddr(i)); no != nil {
			t.Fatalf("free failure %d refused: %v", i+1, no)
		}
	}
	want := time.Second
	for i := 5; i < 30; i++ {
		if no := th.attempt("admin", nthAddr(i)); no != nil {
			t.Fatalf("failure %d, after the lockout ended: refused %v", i+1, no)
		}
		if got := th.lockedFor("admin"); got != want {
			t.Fatalf("after failure %d the name is locked for %v, want %v", i+1, got, want)
		}
		no := th.attempt("admin", nthAddr(1000+i))
		if no == nil || !no.byName || no.wait != want {
			t.Fatalf("an attempt during the lockout of %v: %v", want, no)
		}
		c.add(want)
		want = min(2*want, 15*time.Minute)
	}
	if want != 15*time.Minute {
		t.Fatalf("the lockout never reached the cap: %v", want)
	}
	// A day without failures and the name starts afresh.
	c.add(25 * time.Hour)
	for i := range 5 {
		if no := th.attempt("admin", nthAddr(2000+i)); no != nil {
			t.Fatalf("a day later, failure %d refused: %v", i+1, no)
		}
	}
}

// TestThrottleKnownAddressAndSuccess: the address a user logged in from
// is not held by a lockout of the name; a login clears the failures.
func TestThrottleKnownAddressAndSuccess(t *testing.T) {
	c := newClock()
	th := newLoginThrottle(defaultThrottle(), c.now)
	home := addr("192.0.2.10")
	if th.attempt("alice", home) != nil {
		t.Fatal("first attempt refused")
	}
	th.succeed("alice", home)
	for i := range 20 {
		th.attempt("alice", nthAddr(i))
	}
	if no := th.attempt("alice", addr("198.51.100.1")); no == nil || !no.byName {
		t.Fatalf("a new address while the name is locked: %v", no)
	}
	if no := th.attempt("alice", home); no != nil {
		t.Fatalf("the known address while the name is locked: %v", no)
	}
	th.succeed("alice", home)
	if no := th.attempt("alice", addr("198.51.100.2")); no != nil {
		t.Fatalf("after a login the name is still locked: %v", no)
	}
	// Known for 30 days only.
	for i := range 20 {
		th.attempt("alice", nthAddr(100+i))
	}
	c.add(31 * 24 * time.Hour)
	for i := range 20 {
		th.attempt("alice", nthAddr(200+i))
	}
	if no := th.attempt("alice", home); no == nil {
		t.Fatal("an address known 31 days ago still passes the lockout")
	}
}

// TestThrottleAddressBucket: ten attempts at once per address, then one
// every six seconds; IPv6 addresses count by their /64.
func TestThrottleAddressBucket(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  netip.Addr
		second netip.Addr // shares the first's bucket
	}{
		{"IPv4", addr("203.0.113.5"), addr("203.0.113.5")},
		{"IPv6 /64", addr("2001:db8:1:2::1"), addr("2001:db8:1:2:ffff::9")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			th := newLoginThrottle(defaultThrottle(), c.now)
			for i := range 10 {
				a := tc.first
				if i%2 == 1 {
					a = tc.second
				}
				if no := th.attempt(fmt.Sprintf("user%d", i), a); no != nil {
					t.Fatalf("attempt %d refused: %v", i+1, no)
				}
			}
			no := th.attempt("user10", tc.second)
			if no == nil || no.byName || no.wait != 6*time.Second {
				t.Fatalf("the 11th attempt: %v, want refused for 6s by address", no)
			}
			c.add(6 * time.Second)
			if no := th.attempt("user11", tc.first); no != nil {
				t.Fatalf("six seconds later: %v", no)
			}
			if no := th.attempt("user12", addr("2001:db8:1:3::1")); no != nil {
				t.Fatalf("another /64: %v", no)
			}
		})
	}
}

// TestThrottleTablesBounded floods the throttle with made-up names from
// made-up addresses: the tables stay at their bound, and the name under
// attack stays locked.
func TestThrottleTablesBounded(t *testing.T) {
	c := newClock()
	rules := defaultThrottle()
	rules.maxEntries = 1000
	th := newLoginThrottle(rules, c.now)
	for i := range 10 {
		th.attempt("admin", nthAddr(i))
	}
	for i := range 100000 {
		th.attempt(fmt.Sprintf("random-%d", i), nthAddr(100+i))
		th.succeed(fmt.Sprintf("random-%d", i), nthAddr(100+i))
		th.attempt(fmt.Sprintf("random-%d-again", i), nthAddr(100+i))
		if i%1000 == 0 {
			c.add(time.Millisecond)
		}
	}
	if len(th.names) > rules.maxEntries || len(th.addrs) > rules.maxEntries || len(th.known) > rules.maxEntries {
		t.Fatalf("tables grew past %d: names %d, addresses %d, known %d", rules.maxEntries, len(th.names), len(th.addrs), len(th.known))
	}
	if no := th.attempt("admin", addr("192.0.2.99")); no == nil || !no.byName {
		t.Fatalf("the flood pushed out the lockout of admin: %v", no)
	}
	// Once a minute what no longer matters is swept.
	c.add(25 * time.Hour)
	th.attempt("someone", addr("192.0.2.100"))
	if len(th.names) > 1 || len(th.addrs) > 1 {
		t.Errorf("after a quiet day: names %d, addresses %d", len(th.names), len(th.addrs))
	}
}

func TestRetryText(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{
		{300 * time.Millisecond, "try again in a second"},
		{5 * time.Second, "try again in 5 seconds"},
		{90 * time.Second, "try again in 90 seconds"},
		{15 * time.Minute, "try again in 15 minutes"},
		{14*time.Minute + 10*time.Second, "try again in 15 minutes"},
	} {
		if got := (&refused{wait: tc.wait}).retryText(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.wait, got, tc.want)
		}
	}
}

// BenchmarkThrottleFlood measures one attempt while the tables are full.
func BenchmarkThrottleFlood(b *testing.B) {
	c := newClock()
	th := newLoginThrottle(defaultThrottle(), c.now)
	for i := range b.N {
		th.attempt(fmt.Sprintf("n%d", i), nthAddr(i))
	}
}
