package agentd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Facts is what the agent tells the server about its machine, so that
// compositions can require an agent by them: a flat map with snake_case
// keys. The built-in facts are
//
//	os                  runtime.GOOS: linux, darwin, ...
//	os_release_id       ID in /etc/os-release: debian, ubuntu, alpine, ...
//	os_release_version  VERSION_ID in /etc/os-release: "12", "24.04"
//	kernel              the kernel release (uname -r)
//	arch                runtime.GOARCH: amd64, arm64, ...
//	hostname            the host name
//	fqdn                the fully qualified host name, best effort (the host name when DNS knows no better)
//	cpus                logical CPUs (number)
//	memory_total        bytes of RAM (number)
//	ip_addresses        non-loopback, non-link-local addresses (list of strings)
//	agent_version       the agent's release
//
// External facts come from the files of the facts directory, read in name
// order, each overriding the built-in facts and the files before it:
//
//	*.txt          key=value lines; blank lines and lines starting with # are skipped
//	*.json         one JSON object
//	*.yaml, *.yml  one YAML mapping
//	executables    any other executable file: run with a 10 s timeout, its
//	               standard output read as key=value lines
//
// In key=value lines, true and false become booleans, and a number written
// exactly as JSON would print it back ("42", "-3", "2.5", within ±2^53 for
// whole numbers) becomes a number; everything else, "1.10", "007", "1e3",
// stays a string, so versions and ids are never mangled. Values of JSON
// and YAML files keep their types, nested ones included. A file that
// cannot be read, parsed or run is logged and skipped. A file that changed
// since the last reading is read again after a pause until two readings
// agree, so one caught half rewritten is not sent as it was then.
type Facts = map[string]any

// factTimeout bounds one external facts executable.
const factTimeout = 10 * time.Second

// maxFactsBytes bounds the facts as JSON, so that hello always fits in a
// message. Past it the external facts are left out.
const maxFactsBytes = 256 << 10

// gatherFacts returns the built-in facts overridden by the external ones,
// read from dir through files.
func gatherFacts(ctx context.Context, dir, version string, files *factsFiles, log *slog.Logger) Facts {
	facts := builtinFacts(ctx, version)
	if dir == "" {
		return facts
	}
	all := maps.Clone(facts)
	maps.Copy(all, externalFacts(ctx, dir, files, log))
	if n := len(factsKey(all)); n > maxFactsBytes {
		log.Error("the external facts are too large to send; sending only the built-in ones", "dir", dir, "bytes", n, "limit", maxFactsBytes)
		return facts
	}
	return all
}

// factsKey is the facts in a canonical form, to tell whether they changed.
func factsKey(f Facts) string {
	data, _ := json.Marshal(f) // map keys are sorted
	return string(data)
}

// builtinFacts gathers the facts the agent knows by itself.
func builtinFacts(ctx context.Context, version string) Facts {
	f := Facts{
		"os":            runtime.GOOS,
		"arch":          runtime.GOARCH,
		"cpus":          runtime.NumCPU(),
		"agent_version": version,
		"ip_addresses":  ipAddresses(),
	}
	for _, path := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if id, ver, ok := osRelease(path); ok {
			f["os_release_id"], f["os_release_version"] = id, ver
			break
		}
	}
	if k := kernelRelease(); k != "" {
		f["kernel"] = k
	}
	if host, err := os.Hostname(); err == nil {
		f["hostname"] = host
		f["fqdn"] = fqdn(ctx, host)
	}
	if m, ok := memTotal("/proc/meminfo"); ok {
		f["memory_total"] = m
	}
	return f
}

// osRelease reads ID and VERSION_ID from an os-release file.
func osRelease(path string) (id, version string, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", false
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), "=")
		if !found {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version, true
}

// memTotal reads MemTotal from /proc/meminfo, in bytes.
func memTotal(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// ipAddresses lists the machine's addresses other than loopback and
// link-local ones, sorted.
func ipAddresses() []string {
	addrs, err := net.InterfaceAddrs()
	out := []string{}
	if err != nil {
		return out
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() || n.IP.IsLinkLocalMulticast() {
			continue
		}
		out = append(out, n.IP.String())
	}
	slices.Sort(out)
	return out
}

// fqdn returns the host's fully qualified name as the resolver knows it,
// or host itself when it knows none within two seconds.
func fqdn(ctx context.Context, host string) string {
	if strings.Contains(host, ".") {
		return host
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := net.DefaultResolver
	if name, err := r.LookupCNAME(ctx, host); err == nil {
		if name = strings.TrimSuffix(name, "."); strings.HasPrefix(name, host+".") {
			return name
		}
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return host
	}
	for _, addr := range addrs {
		names, _ := r.LookupAddr(ctx, addr)
		for _, name := range names {
			if name = strings.TrimSuffix(name, "."); strings.HasPrefix(name, host+".") {
				return name
			}
		}
	}
	return host
}

// parseKeyValues reads key=value lines. Blank lines and # comments are
// skipped; a line without = or with an empty key is reported by number.
func parseKeyValues(data []byte) (Facts, []int) {
	out := Facts{}
	var bad []int
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			bad = append(bad, i+1)
			continue
		}
		out[k] = factValue(strings.TrimSpace(v))
	}
	return out, bad
}

// factValue types a key=value value: see Facts.
func factValue(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v && n >= -1<<53 && n <= 1<<53 {
		return n
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && json.Valid([]byte(v)) && strconv.FormatFloat(f, 'f', -1, 64) == v {
		return f
	}
	return v
}
