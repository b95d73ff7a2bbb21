package engine

import (
	"fmt"
	"strings"
)

// ParseLabels reads labels written key=value, one an item, as the command
// line (--label) and the web forms (one a line) take them. Spaces around
// keys and values are dropped and blank items skipped; an item without
// "=" or without a key is an error naming it. No labels is nil. What keys
// and values may be is checked where they are used (CheckTokenScope, an
// agent's labels).
func ParseLabels(items []string) (map[string]string, error) {
	var out map[string]string
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("label %q: write it as key=value", item)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}
