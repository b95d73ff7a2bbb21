package plugin

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"baton/composition"
)

// builtinTypes returns the manifests of the task types Baton ships with, in
// palette order: the work types the runners here execute, then the control
// types the engine handles itself. They are described exactly as plugin
// tasks are, so the editor builds their forms and validation the same way.
func builtinTypes() []*TaskType {
	specs := []composition.TypeSpec{
		{
			Name:  "shell",
			Group: "Basics",
			Icon:  "terminal",
			Description: "Runs a shell script in the run's workspace as `<shell> -e -c <script>` (scripts over " +
				"64 KiB through a file), so it stops at the first command that fails.\n\n" +
				"Outputs: write `name=value` lines to the file named by `$BATON_OUTPUT`; shared context " +
				"values go to `$BATON_CONTEXT` the same way.",
			Fields: []composition.FieldSpec{
				{Name: "run", Type: composition.TypeText, Required: true,
					Description: "The script to run."},
				{Name: "shell", Type: composition.TypeString, Default: "sh",
					Description: "The interpreter, run as `<shell> -e -c <script>`. The default `sh` is a POSIX shell; " +
						"set `shell: bash` for bash features such as arrays or `set -o pipefail`. Extra words are " +
						"passed before `-e`, as in `bash -o pipefail`."},
			},
		},
		{
			Name:      "http",
			Group:     "Basics",
			Icon:      "globe",
			InProcess: true,
			Description: "Sends one HTTP request. The `status` output holds the status code; the `body` output holds " +
				"a textual body up to 1 MiB unless `save_as` is set. `pick` copies values out of a JSON response " +
				"into outputs.",
			Fields: []composition.FieldSpec{
				{Name: "method", Type: composition.TypeString, Default: "GET",
					Enum:        []any{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
					Description: "The request method."},
				{Name: "url", Type: composition.TypeString, Required: true, Check: checkString(checkHTTPURL),
					Description: "The URL to request, `http://` or `https://`."},
				{Name: "headers", Type: composition.TypeMap,
					Description: "Request headers, name to value, e.g. `Authorization: Bearer ${{ params.token }}`."},
				{Name: "body", Type: composition.TypeText,
					Description: "The request body. Set a `Content-Type` header to say what it is."},
				{Name: "expect_status", Type: composition.TypeList, Check: checkStatuses,
					Description: "Status codes that count as success, such as `[200, 404]` or `[2xx, 3xx]`. " +
						"Empty means any 2xx."},
				{Name: "save_as", Type: composition.TypeString, Check: checkString(checkSaveAs),
					Description: "Writes the response body to this file, a path inside the workspace " +
						"(relative, without `..`). Parent directories are created."},
				{Name: "pick", Type: composition.TypeMap, Check: checkPick,
					Description: "Output name to a path into the JSON response, e.g. `id: data.items[0].id`. " +
						"Strings are output as they are, other values as compact JSON. A path that finds " +
						"nothing fails the task."},
				{Name: "timeout", Type: composition.TypeDuration, Default: "30s", Check: checkPositive,
					Description: "How long the whole request, body included, may take."},
				{Name: "follow_redirects", Type: composition.TypeBoolean, Default: true,
					Description: "Follow 3xx redirects; when false, the redirect itself is the response."},
			},
		},
		{
			Name:        "approval",
			Group:       "Flow",
			Icon:        "check-circle",
			Control:     true,
			Description: "Pauses the run until someone approves or rejects it. Rejecting fails the task.",
			Fields: []composition.FieldSpec{
				{Name: "message", Type: composition.TypeText,
					Description: "What the approver is asked, in markdown."},
			},
		},
		{
			Name:        "composition",
			Group:       "Flow",
			Icon:        "workflow",
			Control:     true,
			Description: "Starts a run of another composition. Its outputs become this task's outputs.",
			Fields: []composition.FieldSpec{
				{Name: "name", Type: composition.TypeString, Required: true, NamesComposition: true,
					Description: "The composition to run."},
				{Name: "params", Type: composition.TypeMap,
					Description: "Its parameters, name to value."},
				{Name: "wait", Type: composition.TypeBoolean, Default: true,
					Description: "Wait for the run to end and fail when it fails; when false, the task " +
						"succeeds as soon as the run is started."},
			},
		},
		{
			Name:    "wait",
			Group:   "Flow",
			Icon:    "hourglass",
			Control: true,
			Description: "Waits until no other run of a composition is queued or running (`composition`), " +
				"or until a given run has ended (`run`, a run id). Give exactly one of them.",
			CheckWith: checkWaitFields,
			Fields: []composition.FieldSpec{
				{Name: "composition", Type: composition.TypeString, NamesComposition: true,
					Description: "Wait until no other run of this composition is queued or running. Give this or `run`."},
				{Name: "run", Type: composition.TypeString, Check: checkString(checkRunID),
					Description: "Wait for the run with this id. Give this or `composition`."},
			},
		},
		{
			Name:        "sleep",
			Group:       "Flow",
			Icon:        "clock",
			Control:     true,
			Description: "Waits for a while.",
			Fields: []composition.FieldSpec{
				{Name: "duration", Type: composition.TypeDuration, Required: true, Check: checkNotNegative,
					Description: "How long, e.g. `30s` or `5m`."},
			},
		},
	}
	types := make([]*TaskType, len(specs))
	for i := range specs {
		types[i] = &TaskType{TypeSpec: specs[i]}
	}
	return types
}

// The checks of literal field values below run at validation (see
// composition.FieldSpec.Check) and, where the engine resolves the value
// itself, at run time too: a file that validates does not fail on them.

// checkString adapts a check of a string to a field check.
func checkString(check func(string) error) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil // the field's type was checked before
		}
		return check(s)
	}
}

// checkHTTPURL accepts absolute http:// and https:// URLs.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", u.Redacted())
	}
	return nil
}

func checkStatuses(v any) error {
	list, _ := v.([]any)
	for _, s := range list {
		if _, err := parseStatusMatch(s); err != nil {
			return err
		}
	}
	return nil
}

func checkPick(v any) error {
	m, _ := v.(map[string]any)
	for name, p := range m {
		if !validName(name) {
			return checkOutputName(name)
		}
		if _, err := parsePickPath(fmt.Sprint(p)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func checkPositive(v any) error {
	if d, err := durationOf(v); err == nil && d <= 0 {
		return fmt.Errorf("want a positive duration such as 30s, got %s", d)
	}
	return nil
}

func checkNotNegative(v any) error {
	if d, err := durationOf(v); err == nil && d < 0 {
		return fmt.Errorf("want a duration of 0s or more, got %s", d)
	}
	return nil
}

func durationOf(v any) (time.Duration, error) {
	if d, ok := v.(time.Duration); ok {
		return d, nil
	}
	return time.ParseDuration(fmt.Sprint(v))
}

// checkRunID accepts a run id, a positive whole number.
func checkRunID(s string) error {
	if id, err := strconv.ParseInt(s, 10, 64); err != nil || id <= 0 {
		return fmt.Errorf("%q is not a run id (a whole number such as 42)", s)
	}
	return nil
}

// checkWaitFields wants exactly one of composition and run.
func checkWaitFields(with map[string]any) error {
	given := func(k string) bool { v, ok := with[k]; return ok && v != nil && v != "" }
	if given("composition") == given("run") {
		return errors.New("give exactly one of composition (wait until no other run of it is active) or run (wait until that run ends)")
	}
	return nil
}
