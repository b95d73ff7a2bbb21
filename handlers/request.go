package handlers

// Request helpers shared by the API and the pages: reading a JSON body
// within its limit, query parameters, and the error a client's bad input
// becomes.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxRequestBytes limits JSON request bodies.
const maxRequestBytes = 1 << 20

// badInput is a client mistake that fail answers with 400.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

// decodeBody reads an optional JSON body into v; an empty body leaves v as is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &badInput{"request body: " + jsonProblem(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &badInput{"request body has more after its JSON object; send one object"}
	}
	return nil
}

// boolParam reads an optional true/false query value.
func boolParam(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", s)
	}
	return b, nil
}

// jsonProblem says what is wrong with a JSON body in the API's terms, not
// Go's.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		where := "the body"
		if typ.Field != "" {
			where = "field " + strings.TrimPrefix(typ.Field, ".")
		}
		return fmt.Sprintf("%s: a JSON %s where %s is expected", where, typ.Value, jsonKind(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f + "; the API reference (docs/api.md, /api/v1/openapi.json) lists the fields"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a Go type as the JSON it decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// queryFormat reads ?format=, which must be empty or one of formats.
func queryFormat(r *http.Request, formats ...string) (string, error) {
	f := r.URL.Query().Get("format")
	if f == "" || slices.Contains(formats, f) {
		return f, nil
	}
	return "", &badInput{fmt.Sprintf("format: %q is not a format here; use %s", f, strings.Join(formats, " or "))}
}

// intParam parses an optional non-negative query value, capped at max.
func intParam(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative whole number", s)
	}
	return min(n, max), nil
}
