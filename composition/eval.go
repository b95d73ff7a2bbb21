package composition

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Resolve evaluates the ${{ }} templates in v against env (see NewEnv).
//
// A string is evaluated; []any, []string, map[string]any and
// map[string]string are walked recursively into new values (v is not
// changed); anything else is returned as it is. Elements of []string and
// map[string]string stay strings. Errors name the key path and the
// expression that failed.
//
// Expressions are written in the language of github.com/expr-lang/expr. A
// string that is exactly one expression (blanks around it allowed) takes the
// expression's value with its type: number, bool, list, map. Otherwise each
// expression is formatted into the text by FormatValue.
//
// Expressions see params (the run's parameters), tasks
// (tasks.<id>.outputs.<name> and tasks.<id>.status), context (the run's
// shared context, nested on dots: context.cloud.instances) and run (run.id,
// run.composition, run.status, run.error); expr's builtins; and quote(v)
// (POSIX shell single-quoting of v's text), toJSON(v) (compact JSON) and
// fromJSON(s). Member access is nil-safe, as if written a?.b: tasks.x.outputs.url
// is nil, not an error, when task x has not run.
//
// Task ids and context keys may hold hyphens, which expr would read as
// subtraction. Before compiling, a member name with hyphens attached directly
// (no blanks), where the part after each hyphen starts with a letter or _, is
// rewritten into index syntax, outside string literals:
//
//	tasks.deploy-a.outputs.x   becomes  tasks["deploy-a"].outputs.x
//	context.cloud.my-key       becomes  context.cloud["my-key"]
//
// So subtraction after a member access must be written with blanks:
// params.a - params.b, since params.a-b reads the key "a-b". Two cases are
// left as subtraction: a part that starts with a digit (params.n-1) and a
// part followed by "(" (params.n-len(x)). A name whose part after a hyphen
// starts with a digit, such as the task deploy-2, needs the index syntax
// written out: tasks["deploy-2"].outputs.x.
func Resolve(v any, env map[string]any) (any, error) {
	return ResolveLazy(v, func() map[string]any { return env })
}

// ResolveLazy is Resolve with the environment built only when v holds an
// expression: env is called at most once. The engine uses it so that the
// many tasks with no expression do not pay for an environment of every
// task's outputs.
func ResolveLazy(v any, env func() map[string]any) (any, error) {
	var cached map[string]any
	get := func() map[string]any {
		if cached == nil {
			cached = env()
		}
		return cached
	}
	return resolve(v, get)
}

func resolve(v any, env func() map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return resolveString(x, env)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := resolve(item, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case []string:
		out := make([]string, len(x))
		for i, item := range x {
			r, err := resolveString(item, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = FormatValue(r)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := resolve(x[k], env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case map[string]string:
		out := make(map[string]string, len(x))
		for _, k := range sortedKeys(x) {
			r, err := resolveString(x[k], env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = FormatValue(r)
		}
		return out, nil
	}
	return v, nil
}

func resolveString(s string, env func() map[string]any) (any, error) {
	if !HasExpr(s) {
		return s, nil
	}
	segs, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	if src, ok := singleExpr(segs); ok {
		return evalTemplateExpr(src, env())
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.isExpr {
			b.WriteString(seg.text)
			continue
		}
		v, err := evalTemplateExpr(seg.text, env())
		if err != nil {
			return nil, err
		}
		b.WriteString(FormatValue(v))
	}
	return b.String(), nil
}

// evalTemplateExpr evaluates one ${{ }} expression. It may use the names
// env provides: params, tasks, context and run in a composition; event,
// payload and the like in a trigger rule.
func evalTemplateExpr(src string, env map[string]any) (any, error) {
	roots := templateRoots
	if len(env) != len(templateRoots) {
		roots = sortedKeys(env)
	}
	p, err := compile(src, roots)
	if err == nil {
		var v any
		if v, err = run(p, env); err == nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("${{ %s }}: %v", truncate(src, 60), err)
}

// Truthy reports whether a value counts as true for a task's if: false, nil,
// "", "false" (in any case), "0" and numeric zero are false; everything else,
// including empty lists and maps, is true. Strings are trimmed first.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		s := strings.TrimSpace(x)
		return s != "" && s != "0" && !strings.EqualFold(s, "false")
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	}
	return true
}

// EvalIf evaluates a task's if against env: an empty condition holds; any
// other is resolved as a template and judged by Truthy.
func EvalIf(cond string, env map[string]any) (bool, error) {
	if strings.TrimSpace(cond) == "" {
		return true, nil
	}
	v, err := Resolve(cond, env)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}

// Eval evaluates a bare expression (no ${{ }}), such as a trigger rule,
// against env; the expression may use the keys of env as names.
func Eval(src string, env map[string]any) (any, error) {
	p, err := compile(src, sortedKeys(env))
	if err != nil {
		return nil, err
	}
	return run(p, env)
}

// EvalBool evaluates a bare expression against env, like Eval, and judges
// the result with Truthy.
func EvalBool(src string, env map[string]any) (bool, error) {
	v, err := Eval(src, env)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}

// CheckExpr compiles a bare expression (no ${{ }}) that may use the given
// root names, such as "facts" for requires.facts or "event" and "payload" for
// trigger rules, and returns what is wrong with it.
func CheckExpr(src string, roots ...string) error {
	if HasExpr(src) {
		return errors.New("write a bare expression here, without ${{ }}")
	}
	_, err := compile(src, slices.Sorted(slices.Values(roots)))
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
