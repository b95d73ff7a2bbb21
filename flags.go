package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
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
		fmt.Fprintf(stdout, "usage: %s\n\nFlags (each also read from the environment variable shown):\n", usageLine)
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

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "baton: ignoring %s=%q: not a whole number\n", envName(name), v)
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "baton: ignoring %s=%q: not a duration such as 30s\n", envName(name), v)
	}
	return def
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
		if code, ok := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, 0, true
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
