package composition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// The roots a template in a composition may use.
var templateRoots = []string{"context", "params", "run", "tasks"}

// agentRoots are the roots of a template in a work task's own fields,
// which also see the executor the task runs on.
var agentRoots = []string{"agent", "context", "params", "run", "tasks"}

// agentFields are the members of the agent root.
var agentFields = []string{"name", "facts", "labels", "pools"}

// runFields are the members of the run root.
var runFields = []string{"id", "composition", "status", "error"}

// taskFields are the members of tasks.<id>.
var taskFields = []string{"outputs", "status"}

// Expressions come from composition authors and are evaluated in the server
// against data from webhooks, task outputs and agents, so every evaluation is
// bounded, for the "untrusted-ish" case of an author's mistake or a hostile
// payload: at most exprMaxNodes nodes per expression, and expr's VM memory
// budget, which counts the items that ranges, list and map literals, map(),
// filter(), sortBy() and friends allocate (and so also bounds their loops).
// expr has no loops without a range and no recursion, so time is bounded by
// the same budget. repeat() is replaced by a version that bounds its result.
// This is a guard against accidents and cheap attacks, not a sandbox: string
// concatenation in reduce() is not metered by expr, and anyone who may edit a
// composition can already run shell tasks.
const (
	exprMemoryBudget = 1_000_000
	exprMaxNodes     = 1000
	maxRepeatBytes   = 1 << 20
)

// cacheSize bounds the compiled-program cache; when it is full an arbitrary
// entry is dropped, which keeps hot expressions cached in practice.
const cacheSize = 4096

type programKey struct {
	src   string
	roots string
}

var programs = struct {
	sync.Mutex
	m map[programKey]*vm.Program
}{m: map[programKey]*vm.Program{}}

// compile compiles a bare expression (no ${{ }}) that may use the given
// roots, through the cache.
func compile(src string, roots []string) (*vm.Program, error) {
	key := programKey{src: src, roots: strings.Join(roots, ",")}
	programs.Lock()
	p, ok := programs.m[key]
	programs.Unlock()
	if ok {
		return p, nil
	}
	p, err := compileUncached(src, roots)
	if err != nil {
		return nil, err
	}
	programs.Lock()
	if len(programs.m) >= cacheSize {
		for k := range programs.m {
			delete(programs.m, k)
			break
		}
	}
	programs.m[key] = p
	programs.Unlock()
	return p, nil
}

func compileUncached(src string, roots []string) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	env := types.Map{}
	for _, r := range roots {
		env[r] = types.Any
	}
	opts := []expr.Option{
		expr.Env(env),
		expr.MaxNodes(exprMaxNodes),
		expr.Patch(nilSafe{}),
		expr.Function("quote", fnQuote, new(func(any) string)),
		expr.Function("toJSON", fnToJSON, new(func(any) string)),
		expr.Function("fromJSON", fnFromJSON, new(func(string) any)),
		expr.Function("repeat", fnRepeat, new(func(string, int) string)),
	}
	p, err := expr.Compile(rewriteHyphens(src), opts...)
	if err != nil {
		return nil, errors.New(exprMessage(err))
	}
	return p, nil
}

// run evaluates a compiled program with the memory budget.
func run(p *vm.Program, env map[string]any) (any, error) {
	if env == nil {
		env = map[string]any{}
	}
	m := vm.VM{MemoryBudget: exprMemoryBudget}
	out, err := m.Run(p, env)
	if err != nil {
		return nil, errors.New(exprMessage(err))
	}
	return out, nil
}

// exprMessage returns an expr error on one line, without the source excerpt
// that expr appends.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return strings.Join(strings.Fields(fe.Message), " ")
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// nilSafe makes every member access optional, as if written a?.b, so that a
// missing task, output or context key gives nil rather than an error.
type nilSafe struct{}

// Visit implements ast.Visitor.
func (nilSafe) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	m.Optional = true
	ast.Patch(n, &ast.ChainNode{Node: m})
}

func fnQuote(args ...any) (any, error) {
	return ShellQuote(FormatValue(args[0])), nil
}

func fnToJSON(args ...any) (any, error) {
	return toJSON(args[0])
}

func fnFromJSON(args ...any) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(args[0].(string)), &v); err != nil {
		return nil, fmt.Errorf("fromJSON: %v", err)
	}
	return v, nil
}

func fnRepeat(args ...any) (any, error) {
	s := args[0].(string)
	n, ok := args[1].(int)
	if !ok || n < 0 {
		return nil, fmt.Errorf("repeat: count must be a whole number of at least 0")
	}
	if n > 0 && len(s) > maxRepeatBytes/n {
		return nil, fmt.Errorf("repeat: result would be over %d bytes", maxRepeatBytes)
	}
	return strings.Repeat(s, n), nil
}

// ShellQuote quotes s for a POSIX shell: it wraps s in single quotes, and
// writes each single quote inside as quote, backslash, quote, quote (close,
// escaped quote, reopen):
//
//	it's  becomes  'it'\''s'
//
// The result is always one word, even when s is empty.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// toJSON encodes v as compact JSON without HTML escaping.
func toJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("toJSON: %v", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// FormatValue formats a value for text: the one way Baton prints a value
// into a template (${{ }}), a plugin field's environment variable, an http
// field or a log. Strings as they are, numbers in plain decimal without an
// exponent ("2", not "2e+00"; json.Number as written, but for an exponent), bools as
// true/false, nil as empty, durations as Go writes them (1m30s), lists and
// maps as compact JSON (durations inside as text, no HTML escaping), times
// in RFC 3339.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		// As written, unless it has an exponent.
		if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) && strings.ContainsAny(string(x), "eE") {
			return formatFloat(f)
		}
		return x.String()
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		if s, err := toJSON(JSONReady(v)); err == nil {
			return s
		}
	}
	return fmt.Sprint(v)
}

// JSONReady returns v ready for encoding/json the way Baton shows values:
// durations become their text ("1m30s") instead of a count of
// nanoseconds, inside lists and maps too. Other values are returned as
// they are.
func JSONReady(v any) any {
	switch v := v.(type) {
	case time.Duration:
		return v.String()
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = JSONReady(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = JSONReady(x)
		}
		return out
	}
	return v
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
