package handlers

import (
	"fmt"
	"testing"
	"time"
)

// size returns how many addresses are remembered.
func (l *refusals) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.order.Len() != len(l.entries) {
		panic("refusals: list and map disagree")
	}
	return len(l.entries)
}

// TestRefusalsBudget: an address may be refused burst times, then is
// limited until a token comes back; others are not affected.
func TestRefusalsBudget(t *testing.T) {
	l := newRefusals(3, 10*time.Second, 100)
	now := time.Unix(1_000_000, 0)
	for i := range 3 {
		if _, lim := l.limited("gh", "192.0.2.1", now); lim {
			t.Fatalf("limited after %d refusals of 3", i)
		}
		if over := l.refuse("gh", "192.0.2.1", now); over != (i == 2) {
			t.Errorf("refusal %d: over = %v", i+1, over)
		}
	}
	wait, lim := l.limited("gh", "192.0.2.1", now)
	if !lim || wait <= 9*time.Second || wait > 10*time.Second {
		t.Errorf("after 3 refusals: limited %v, wait %v; want limited for 10s", lim, wait)
	}
	if _, lim := l.limited("gh", "192.0.2.2", now); lim {
		t.Error("another address is limited")
	}
	if _, lim := l.limited("gh", "192.0.2.1", now.Add(10*time.Second)); lim {
		t.Error("still limited once a token came back")
	}
}

// TestRefusalsKeys: IPv6 addresses share their /64; IPv4 addresses, also
// written as IPv4-mapped IPv6, are their own.
func TestRefusalsKeys(t *testing.T) {
	tests := []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
		{"192.0.2.7", "::ffff:192.0.2.7"},
		{"fe80::1%eth0", "fe80::2"},
	}
	for _, tt := range tests {
		if budgetKey(tt.a) != budgetKey(tt.b) {
			t.Errorf("%s and %s draw on different budgets: %q, %q", tt.a, tt.b, budgetKey(tt.a), budgetKey(tt.b))
		}
	}
	for _, pair := range [][2]string{{"2001:db8:1:2::1", "2001:db8:1:3::1"}, {"192.0.2.7", "192.0.2.8"}} {
		if budgetKey(pair[0]) == budgetKey(pair[1]) {
			t.Errorf("%s and %s share a budget", pair[0], pair[1])
		}
	}
	if k := budgetKey(string(make([]byte, 500))); len(k) > 64 {
		t.Errorf("a key of %d bytes", len(k))
	}
}

// TestRefusalsBounded: refusals from many more addresses than it keeps
// hold memory at the bound, and an address that keeps knocking while over
// its budget is not pushed out by them.
func TestRefusalsBounded(t *testing.T) {
	const keep = 100
	l := newRefusals(2, time.Minute, keep)
	now := time.Unix(1_000_000, 0)
	l.refuse("gh", "198.51.100.1", now)
	l.refuse("gh", "198.51.100.1", now)
	for i := range 50 * keep {
		l.refuse("gh", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
		if _, lim := l.limited("gh", "198.51.100.1", now); !lim {
			t.Fatalf("the flooder got a fresh budget after %d other addresses", i+1)
		}
	}
	if n := l.size(); n != keep {
		t.Errorf("%d addresses remembered, want the bound %d", n, keep)
	}
}
