package editor

import (
	"regexp"
	"strings"

	"baton/composition"
)

// References in ${{ }} expressions are found by scanning the expression
// text: string literals are skipped, and a root name (tasks, params,
// context) that is not itself a member (x.tasks) starts a reference, read
// the way composition reads member names: a hyphen followed by a letter or _
// continues a name (tasks.deploy-a), one followed by a digit is subtraction.

// rewriteTemplates applies f to every string of the composition that may
// hold expressions: task fields, env, if, run and requires, the outputs,
// the params of on_failure and the composition's requires.
func rewriteTemplates(c *composition.Composition, f func(string) string) {
	for k, v := range c.Outputs {
		c.Outputs[k] = rewriteValue(v, f)
	}
	if c.OnFailure != nil {
		for k, v := range c.OnFailure.Params {
			c.OnFailure.Params[k] = rewriteValue(v, f)
		}
	}
	rewriteRequires(c.Requires, f)
	for _, t := range c.Tasks {
		for k, v := range t.With {
			t.With[k] = rewriteValue(v, f)
		}
		for k, v := range t.Env {
			t.Env[k] = f(v)
		}
		t.Run = f(t.Run)
		t.If = f(t.If)
		rewriteRequires(t.Requires, f)
	}
}

func rewriteRequires(r *composition.Requires, f func(string) string) {
	if r == nil {
		return
	}
	r.Pool = f(r.Pool)
	for k, v := range r.Labels {
		r.Labels[k] = f(v)
	}
}

func rewriteValue(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i, item := range x {
			x[i] = rewriteValue(item, f)
		}
	case map[string]any:
		for k, item := range x {
			x[k] = rewriteValue(item, f)
		}
	}
	return v
}

// renameRefs returns s with the references root.old in its expressions
// changed to root.new: tasks.old, tasks?.old, tasks['old'] and tasks["old"].
// A new name that cannot be written as a member (deploy-2: the hyphen would
// subtract) is written tasks['deploy-2'].
func renameRefs(s, root, old, new string) string {
	return composition.MapExprs(s, func(src string) string {
		var b strings.Builder
		scanRefs(src, root, func(i int, ref ref) {
			b.WriteString(src[i:ref.start])
			head, tail := src[ref.start:ref.nameStart], src[ref.nameEnd:ref.end]
			switch {
			case ref.name != old:
				b.WriteString(src[ref.start:ref.end])
			case ref.quote != 0:
				b.WriteString(head + escapeQuoted(new, ref.quote) + tail)
			case plainMember(new):
				b.WriteString(head + new + tail)
			default:
				if !strings.HasSuffix(head, "?.") {
					head = strings.TrimSuffix(head, ".")
				}
				b.WriteString(head + "['" + escapeQuoted(new, '\'') + "']" + tail)
			}
		}, func(i int) { b.WriteString(src[i:]) })
		return b.String()
	})
}

// contextKeys returns the context keys an expression string reads, such as
// "cloud.instances" for ${{ context.cloud.instances }}.
func contextKeys(s string) []string {
	var keys []string
	composition.MapExprs(s, func(src string) string {
		scanRefs(src, "context", func(_ int, r ref) {
			key := r.name
			for _, p := range r.path {
				key += "." + p
			}
			keys = append(keys, key)
		}, func(int) {})
		return src
	})
	return keys
}

// ref is one reference root.name found in an expression's source.
type ref struct {
	start, end         int      // the whole reference, root included
	nameStart, nameEnd int      // the name, without quotes
	name               string   // the member name (a task id, param name or first context key part)
	quote              byte     // the quote of tasks['x'], 0 for tasks.x
	path               []string // members after the name, for context keys
}

// scanRefs calls found for each reference to root in src, with the index
// where the text before it starts, and rest with the index of the text
// after the last one.
func scanRefs(src, root string, found func(from int, r ref), rest func(from int)) {
	from := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c == '"' || c == '\'' || c == '`' {
			i = composition.StringEnd(src, i)
			continue
		}
		if !identStart(c) {
			i++
			continue
		}
		j := identEnd(src, i)
		if src[i:j] != root || memberBefore(src, i) {
			i = j
			continue
		}
		r, ok := readRef(src, i, j)
		if !ok {
			i = j
			continue
		}
		found(from, r)
		from, i = r.end, r.end
	}
	rest(from)
}

// readRef reads the member after a root name that ends at j.
func readRef(src string, start, j int) (ref, bool) {
	r := ref{start: start}
	k, ok := memberName(src, j, &r)
	if !ok {
		return r, false
	}
	r.end = k
	// Further plain members, for context keys.
	for {
		var next ref
		k, ok = memberName(src, r.end, &next)
		if !ok {
			return r, true
		}
		r.path = append(r.path, next.name)
		r.end = k
	}
}

// memberName reads .name, ?.name, ['name'] or ?.['name'] at src[j:] into r
// and returns the index after it.
func memberName(src string, j int, r *ref) (int, bool) {
	if strings.HasPrefix(src[j:], "?.") {
		j++
	}
	switch {
	case strings.HasPrefix(src[j:], ".") && j+1 < len(src) && identStart(src[j+1]):
		r.nameStart = j + 1
		r.nameEnd = hyphenIdentEnd(src, j+1)
	case strings.HasPrefix(src[j:], "["):
		k := skipBlanks(src, j+1)
		if k >= len(src) || src[k] != '\'' && src[k] != '"' {
			return 0, false
		}
		end := composition.StringEnd(src, k)
		if end > len(src) || end-1 <= k || src[end-1] != src[k] {
			return 0, false
		}
		close := skipBlanks(src, end)
		if close >= len(src) || src[close] != ']' {
			return 0, false
		}
		r.quote = src[k]
		r.nameStart, r.nameEnd = k+1, end-1
		r.name = src[r.nameStart:r.nameEnd]
		if strings.Contains(r.name, `\`) {
			return 0, false // escapes: too clever to rename safely
		}
		return close + 1, true
	default:
		return 0, false
	}
	r.name = src[r.nameStart:r.nameEnd]
	return r.nameEnd, true
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

// memberBefore reports whether the name at src[i] is a member of something
// (x.tasks), not a root.
func memberBefore(src string, i int) bool {
	k := i - 1
	for k >= 0 && (src[k] == ' ' || src[k] == '\t') {
		k--
	}
	return k >= 0 && src[k] == '.' && (k == 0 || src[k-1] != '.')
}

func identStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func identChar(c byte) bool {
	return identStart(c) || c >= '0' && c <= '9'
}

func identEnd(s string, i int) int {
	for i < len(s) && identChar(s[i]) {
		i++
	}
	return i
}

// hyphenIdentEnd reads a member name with attached hyphens: deploy-a is one
// name, deploy-2 is deploy minus 2, and so is deploy-len(x).
func hyphenIdentEnd(s string, i int) int {
	end := identEnd(s, i)
	for end+1 < len(s) && s[end] == '-' && identStart(s[end+1]) {
		next := identEnd(s, end+1)
		if next < len(s) && s[next] == '(' {
			break
		}
		end = next
	}
	return end
}

// plainMemberRe matches names that read back as one member after a dot.
var plainMemberRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z_][A-Za-z0-9_]*)*$`)

func plainMember(name string) bool {
	return plainMemberRe.MatchString(name)
}

// escapeQuoted escapes s for a string literal in quote q.
func escapeQuoted(s string, q byte) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, string(q), `\`+string(q))
}
