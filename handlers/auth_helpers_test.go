package handlers

import (
	"net/netip"
	"testing"
)

func mustPrefixes(t *testing.T, values ...string) []netip.Prefix {
	t.Helper()
	ps, err := ParseTrustedProxies(values)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
