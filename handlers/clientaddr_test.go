package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	ps := proxies(mustPrefixes(t, "10.0.0.0/8, 127.0.0.1", "2001:db8:ff::/48"))
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"no proxy", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"untrusted peer, header ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted peer, no header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer", "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged entries left of the proxy's", "127.0.0.1:5000", []string{"1.1.1.1, 2.2.2.2, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted proxies", "127.0.0.1:5000", []string{"203.0.113.9, 10.0.0.7"}, "203.0.113.9"},
		{"several headers", "127.0.0.1:5000", []string{"1.1.1.1", "203.0.113.9, 10.0.0.7"}, "203.0.113.9"},
		{"only proxies", "127.0.0.1:5000", []string{"10.0.0.8, 10.0.0.7"}, "10.0.0.8"},
		{"garbage stops at the proxy that wrote it", "127.0.0.1:5000", []string{"203.0.113.9, not-an-ip"}, "127.0.0.1"},
		{"garbage left of a real client", "127.0.0.1:5000", []string{"<script>, 203.0.113.9"}, "203.0.113.9"},
		{"empty entry", "127.0.0.1:5000", []string{""}, "127.0.0.1"},
		{"entry with a port", "127.0.0.1:5000", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"IPv6 entry with a port", "127.0.0.1:5000", []string{"[2001:db8::9]:4711"}, "2001:db8::9"},
		{"IPv6 peer trusted", "[2001:db8:ff::1]:5000", []string{"2001:db8::9"}, "2001:db8::9"},
		{"IPv6 peer untrusted", "[2001:db8:fe::1]:5000", []string{"203.0.113.9"}, "2001:db8:fe::1"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"IPv4-mapped entry", "127.0.0.1:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"zone dropped", "127.0.0.1:5000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"too many hops", "127.0.0.1:5000", []string{"203.0.113.9" + strings.Repeat(", 10.0.0.1", 40)}, "10.0.0.1"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ps.client(r).String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// Without trusted proxies nothing in the header counts.
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := proxies(nil).client(r).String(); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: %s", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    string // prefixes joined by spaces, or the error's start
		wantErr bool
	}{
		{[]string{"10.0.0.0/8"}, "10.0.0.0/8", false},
		{[]string{"10.1.2.3/8"}, "10.0.0.0/8", false},
		{[]string{"127.0.0.1, ::1", "192.168.0.0/16"}, "127.0.0.1/32 ::1/128 192.168.0.0/16", false},
		{[]string{"::ffff:127.0.0.1"}, "127.0.0.1/32", false},
		{[]string{""}, "", false},
		{[]string{" , "}, "", false},
		{[]string{"10.0.0.0/33"}, `"10.0.0.0/33" is neither a CIDR`, true},
		{[]string{"proxy.internal"}, `"proxy.internal" is neither a CIDR`, true},
		{[]string{"10.0.0.1:80"}, `"10.0.0.1:80" is neither`, true},
		{[]string{"fe80::1%eth0"}, `"fe80::1%eth0" is neither`, true},
	} {
		ps, err := ParseTrustedProxies(tc.in)
		if tc.wantErr {
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want one starting %s", tc.in, err, tc.want)
			}
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestBaseURLScheme: the URLs the server shows (here a webhook's) use
// https when a trusted proxy says so in X-Forwarded-Proto; the header
// from any other peer is not believed.
func TestBaseURLScheme(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	a.do("PUT", "/api/v1/triggers/gh", "name: gh\nkind: github\nsecret: s3cret-value-for-test\nrules:\n  - when: 'event == \"push\"'\n    run: {composition: hello}\n", http.StatusCreated, nil)
	trusted := a.serverWith(Config{TrustedProxies: mustPrefixes(t, "127.0.0.1/32")}, nil)
	hookURL := func(base, proto string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/v1/triggers/gh", nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tj triggerJSON
		if err := json.NewDecoder(resp.Body).Decode(&tj); err != nil {
			t.Fatal(err)
		}
		return tj.HookURL
	}
	for _, tc := range []struct {
		name, base, proto, want string
	}{
		{"untrusted peer, no header", a.srv.URL, "", "http://"},
		{"untrusted peer says https", a.srv.URL, "https", "http://"},
		{"trusted proxy says https", trusted, "https", "https://"},
		{"trusted proxy, a list", trusted, "HTTPS, http", "https://"},
		{"trusted proxy says http", trusted, "http", "http://"},
		{"trusted proxy, no header", trusted, "", "http://"},
	} {
		if got := hookURL(tc.base, tc.proto); !strings.HasPrefix(got, tc.want+strings.TrimPrefix(tc.base, "http://")+"/hooks/gh") {
			t.Errorf("%s: hook URL %s, want it to start with %s", tc.name, got, tc.want)
		}
	}
}
