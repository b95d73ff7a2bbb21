package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one step of a pick path: an object key or a list index.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// parsePickPath parses a pick path such as data.items[0].id: keys separated
// by dots, list indexes in brackets. A path may start with an index
// ([0].id) and may be prefixed by "$." as in other JSON path tools. Keys
// cannot hold "." or "[".
func parsePickPath(p string) ([]pathStep, error) {
	s := p
	switch {
	case s == "$":
		s = ""
	case strings.HasPrefix(s, "$."):
		s = s[2:]
	case strings.HasPrefix(s, "$["):
		s = s[1:]
	}
	if s == "" {
		return nil, nil
	}
	var steps []pathStep
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: [ without ]", p)
			}
			n, err := strconv.Atoi(s[i+1 : i+end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: %q is not a list index; write [0], [1], ...", p, s[i:i+end+1])
			}
			steps = append(steps, pathStep{index: n, isIndex: true})
			i += end + 1
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, fmt.Errorf("path %q ends with a dot", p)
				}
			} else if i < len(s) && s[i] != '[' {
				return nil, fmt.Errorf("path %q: want . or [ after ]", p)
			}
		default:
			end := strings.IndexAny(s[i:], ".[")
			if end < 0 {
				end = len(s) - i
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q has an empty key", p)
			}
			steps = append(steps, pathStep{key: s[i : i+end]})
			i += end
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, fmt.Errorf("path %q ends with a dot", p)
				}
			}
		}
	}
	return steps, nil
}

// pickJSON returns the value at path in the JSON document doc: a string as
// it is, any other value (numbers, booleans, null, objects, lists) as
// compact JSON with its keys in document order. It fails, naming the part of
// the path it could not follow, when the value is not there.
func pickJSON(doc []byte, path string) (string, error) {
	steps, err := parsePickPath(path)
	if err != nil {
		return "", err
	}
	cur := json.RawMessage(bytes.TrimSpace(doc))
	if !json.Valid(cur) {
		return "", fmt.Errorf("%s: the response is not JSON", path)
	}
	walked := "$"
	for _, st := range steps {
		if st.isIndex {
			var list []json.RawMessage
			if err := json.Unmarshal(cur, &list); err != nil {
				return "", fmt.Errorf("%s: %s is %s, not a list", path, walked, jsonKind(cur))
			}
			if st.index >= len(list) {
				return "", fmt.Errorf("%s: %s has %d items, no [%d]", path, walked, len(list), st.index)
			}
			cur = list[st.index]
			walked += "[" + strconv.Itoa(st.index) + "]"
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil || obj == nil {
			return "", fmt.Errorf("%s: %s is %s, not an object", path, walked, jsonKind(cur))
		}
		next, ok := obj[st.key]
		if !ok {
			return "", fmt.Errorf("%s: %s has no key %q", path, walked, st.key)
		}
		cur = next
		walked += "." + st.key
	}
	if len(cur) > 0 && cur[0] == '"' {
		var s string
		if err := json.Unmarshal(cur, &s); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, cur); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return buf.String(), nil
}

// jsonKind names the kind of a JSON value for an error message.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
