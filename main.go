// Command baton is a DevOps orchestration engine in one binary: `baton
// serve` runs the server (web UI, REST API, engine), `baton run` runs one
// composition file in this process, `baton validate` checks files.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	_ "time/tzdata" // schedules' time zones work where the system has no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand of the baton binary.
type command struct {
	name    string
	usage   string // the synopsis line
	summary string // one line for `baton help`
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "baton serve [--addr ADDR] [--data DIR] [--compositions DIR] [--triggers DIR] [--plugins DIR]...", "start the server: web UI, REST API and the engine", cmdServe},
		{"run", "baton run FILE [--param k=v]... [--yes] [--db PATH] [--plugins DIR]... [--slots N] [--workdir DIR]", "run one composition file in this process and print its log", cmdRun},
		{"validate", "baton validate [--plugins DIR]... FILE...", "check composition files and print every problem", cmdValidate},
		{"retry", "baton retry RUN [--from TASK]... [--latest] [--wait] [--server URL] [--token-file FILE]", "retry a failed or cancelled run on a server, keeping the tasks that succeeded", cmdRetry},
		{"agent", "baton agent --server URL --token TOKEN [--name NAME] [--pool P]... [--label k=v]... [--facts-dir DIR] [--slots N] [--workdir DIR] [--grace D] [--token-file FILE] [--log-level L]", "run an agent: take work from a Baton server", cmdAgent},
		{"agent-token", "baton agent-token create|list|revoke [ID] [--data DIR] [--name LABEL]", "manage the tokens agents connect with", cmdAgentToken},
		{"user", "baton user add|passwd|list|remove [NAME] [--data DIR] [--password-stdin]", "manage the users who log in to the web UI", cmdUser},
		{"token", "baton token create|list|revoke [ID] [--data DIR] [--user NAME] [--name LABEL]", "manage API tokens", cmdToken},
		{"version", "baton version", "print the version", cmdVersion},
		{"help", "baton help [command]", "show help for a command", cmdHelp},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes shared by the commands.
const (
	exitOK      = 0
	exitFailed  = 1 // the run failed, or files are invalid
	exitBadArgs = 2 // the command line or the input could not be used
)

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitBadArgs
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "baton: unknown command %q%s\n\n", name, suggest(name))
	usage(stderr)
	return exitBadArgs
}

func suggest(name string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return fmt.Sprintf("; did you mean %q?", c.name)
		}
	}
	return ""
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Baton orchestrates DevOps work: compositions of tasks, run on this server or on agents.")
	fmt.Fprintln(w, "\nUsage: baton <command> [flags]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `baton help <command>` for a command's flags. Docs: docs/ in the source tree.")
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "baton %s\n", version)
	return exitOK
}

func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if c.name == "help" || c.name == "version" {
				fmt.Fprintf(stdout, "usage: %s\n\n%s\n", c.usage, c.summary)
				return exitOK
			}
			return c.run([]string{"-h"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "baton help: unknown command %q\n", args[0])
	return exitBadArgs
}
