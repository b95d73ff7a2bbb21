package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"baton/plugin"
)

// newFlags returns a flag set that prints its usage to stdout on -h and
// errors to stderr.
func newFlags(c string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var usageLine string
	for _, cmd := range commands() {
		if cmd.name == c {
			usageLine = cmd.usage + "\n\n" + cmd.summary
		}
	}
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: %s\n\nFlags (a flag shown with [$VARIABLE] may be set in the environment instead):\n", usageLine)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	return fs
}

// envName is the environment variable that gives a flag's default:
// --local-slots is BATON_LOCAL_SLOTS.
func envName(flagName string) string {
	return "BATON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func envString(name, def string) string {
	if v, ok := os.LookupEnv(envName(name)); ok {
		return v
	}
	return def
}

// envProblems holds the environment variables whose values do not fit
// their flag, by variable; parseFlags refuses them unless the flag itself
// is given.
var envProblems = map[string]string{}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		envProblems[envName(name)] = fmt.Sprintf("%s=%q is not a whole number", envName(name), v)
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		envProblems[envName(name)] = fmt.Sprintf("%s=%q is not a duration such as 30s or 5m", envName(name), v)
	}
	return def
}

func envBool(name string) bool {
	v, ok := os.LookupEnv(envName(name))
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		envProblems[envName(name)] = fmt.Sprintf("%s=%q is not true or false", envName(name), v)
	}
	return b
}

// checkEnv refuses the environment variables of fs's flags whose values
// did not fit, except where the command line gives the flag itself.
func checkEnv(fs *flag.FlagSet) (int, bool) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	bad := false
	fs.VisitAll(func(f *flag.Flag) {
		for env, msg := range envProblems {
			if strings.Contains(f.Usage, "[$"+env+"]") && !given[f.Name] {
				fmt.Fprintf(fs.Output(), "baton %s: %s (it sets --%s; fix or unset it)\n", fs.Name(), msg, f.Name)
				bad = true
			}
		}
	})
	if bad {
		return exitBadArgs, false
	}
	return 0, true
}

func help(name, text string) string {
	return text + " [$" + envName(name) + "]"
}

// listFlag is a repeatable flag; its default comes from a
// colon-separated environment variable.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func envList(name string) listFlag {
	v := os.Getenv(envName(name))
	if v == "" {
		return nil
	}
	return strings.Split(v, string(os.PathListSeparator))
}

// parseFlags parses args; it returns an exit code when the command should
// stop (after -h, or on a bad flag).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if code, ok := parseArgs(fs, args); !ok {
		return code, false
	}
	return checkEnv(fs)
}

func parseArgs(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitBadArgs, false
	}
	return 0, true
}

// interleaved lets flags follow positional arguments (`baton run FILE
// --yes`), which the flag package alone does not allow.
func interleaved(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var positional []string
	for {
		if code, ok := parseArgs(fs, args); !ok {
			return nil, code, false
		}
		args = fs.Args()
		if len(args) == 0 {
			code, ok := checkEnv(fs)
			return positional, code, ok
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// dirsExist checks that directories named on the command line (or in the
// environment) are there: a mistyped --plugins or --compositions is bad
// input, not an empty server.
func dirsExist(stderr io.Writer, cmd, flagName string, dirs ...string) bool {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		fi, err := os.Stat(d)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "baton %s: --%s %s: no such directory\n", cmd, flagName, d)
			return false
		case !fi.IsDir():
			fmt.Fprintf(stderr, "baton %s: --%s %s: a file, not a directory\n", cmd, flagName, d)
			return false
		}
	}
	return true
}

// taskEnvFlag adds --task-env to fs: names (or prefixes ending in *) of
// the command's own environment variables that tasks inherit besides
// plugin.DefaultTaskEnv. The variable envVar takes a comma-separated list.
func taskEnvFlag(fs *flag.FlagSet, envVar string) *commaFlag {
	f := commaList(envVar)
	fs.Var(&f, "task-env", help(envVar, "an environment variable tasks inherit besides PATH, HOME, LANG, TZ and the like, e.g. HTTP_PROXY or JAVA_* (repeatable, or comma-separated)"))
	return &f
}

// taskEnvPolicy turns --task-env into the policy tasks' environments are
// built with; it reports a bad name on stderr and false.
func taskEnvPolicy(stderr io.Writer, cmd string, f *commaFlag) (*plugin.EnvPolicy, bool) {
	var names []string
	for _, v := range f.vals {
		names = append(names, strings.Split(v, ",")...)
	}
	p, err := plugin.NewEnvPolicy(names)
	if err != nil {
		fmt.Fprintf(stderr, "baton %s: --task-env %v\n", cmd, err)
		return nil, false
	}
	return p, true
}
