package handlers

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops is how many X-Forwarded-For entries clientAddr reads
// from the right: more proxies than this in a row is not a real setup.
const maxForwardedHops = 16

// ParseTrustedProxies reads --trusted-proxy values: CIDRs such as
// 10.0.0.0/8 or single addresses such as 127.0.0.1, each value one or
// several separated by commas.
func ParseTrustedProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if p, err := netip.ParsePrefix(item); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is neither a CIDR such as 10.0.0.0/8 nor an address such as 127.0.0.1", item)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

// proxies are the trusted proxies of this server.
type proxies []netip.Prefix

func (ps proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the address of the client that sent r. It is the TCP
// peer, unless the peer is a trusted proxy: then X-Forwarded-For is read
// from the right (each proxy appends the peer it saw), skipping trusted
// proxies, and the first address that is not one is the client. What lies
// to the left of it was written by the client and is not believed. An
// entry that is not an address stops the walk at the proxy that wrote it.
// The result is the zero Addr only when the peer address itself does not
// parse (not on a real connection).
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	a := h.proxies.client(r)
	if r.Header.Get("X-Forwarded-For") != "" && !h.proxies.trusted(parseHost(r.RemoteAddr)) {
		h.untrustedProxy.Do(func() {
			h.log.Warn("a request carried X-Forwarded-For from a peer not in --trusted-proxy: the peer's own address counts as the client's; if Baton runs behind that proxy, name it with --trusted-proxy",
				"peer", r.RemoteAddr)
		})
	}
	return a
}

func (ps proxies) client(r *http.Request) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !peer.IsValid() || !ps.trusted(peer) {
		return peer
	}
	var hops []string
	for _, hdr := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(hdr, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-maxForwardedHops; i-- {
		a := parseHost(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			return client
		}
		client = a
		if !ps.trusted(a) {
			return a
		}
	}
	return client
}

// baseURL is how clients reach this server, for the URLs it shows (webhook
// URLs, the agents' --server): the request's host, with https when the
// request came over TLS, or from a trusted proxy whose X-Forwarded-Proto
// says https (its first entry, when proxies made it a list). From any
// other peer the header is not believed.
func (h *Handler) baseURL(r *http.Request) string {
	return h.proxies.scheme(r) + "://" + r.Host
}

func (ps proxies) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if peer := parseHost(r.RemoteAddr); peer.IsValid() && ps.trusted(peer) {
		proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		if strings.EqualFold(strings.TrimSpace(proto), "https") {
			return "https"
		}
	}
	return "http"
}

// parseHost reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:4711", "[2001:db8::1]:4711", "2001:db8::1"), without its
// zone, IPv4-mapped IPv6 as IPv4; the zero Addr when it is none of these.
func parseHost(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}
