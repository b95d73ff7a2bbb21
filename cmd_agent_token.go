package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"baton/auth"
	"baton/engine"
	"baton/model"
)

func cmdAgentToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("agent-token", stdout, stderr)
	data := fs.String("data", envString("data", "./baton-data"), help("data", "the server's data directory"))
	name := fs.String("name", "agents", "create: a name that says which agents use the token")
	pattern := fs.String("name-pattern", "", "create: allow only agent names matching this pattern, such as deploy-* (default: any)")
	var pools, labels commaFlag
	fs.Var(&pools, "pool", "create: allow only this pool (repeatable; default: any pools)")
	fs.Var(&labels, "label", "create: allow only this label, key=value or key=* for any value (repeatable; default: any labels)")
	rest, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "baton agent-token: say what to do: create, list or revoke ID")
		return exitBadArgs
	}
	store, ok := openData(*data, stderr)
	if !ok {
		return exitFailed
	}
	defer store.Close()
	ctx := context.Background()
	switch rest[0] {
	case "create":
		t := &model.AgentToken{Name: *name, NamePattern: *pattern, Pools: pools.vals}
		var err error
		if t.Labels, err = engine.ParseLabels(labels.vals); err != nil {
			fmt.Fprintf(stderr, "baton agent-token create: --label: %v\n", err)
			return exitBadArgs
		}
		var scope *engine.ScopeError
		if err := engine.CheckTokenScope(t); errors.As(err, &scope) {
			flag := map[string]string{"name_pattern": "--name-pattern", "pools": "--pool", "labels": "--label"}[scope.Field]
			fmt.Fprintf(stderr, "baton agent-token create: %s: %s\n", flag, scope.Msg)
			return exitBadArgs
		}
		token, hash, prefix := auth.NewToken()
		t.Prefix = prefix
		if _, err := store.CreateAgentToken(ctx, t, hash); err != nil {
			fmt.Fprintf(stderr, "baton agent-token: %v\n", err)
			return exitFailed
		}
		fmt.Fprintln(stdout, token)
	case "list":
		toks, err := store.ListAgentTokens(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "baton agent-token: %v\n", err)
			return exitFailed
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTOKEN\tCREATED\tLAST USED\tALLOWS")
		for _, t := range toks {
			used := "never"
			if !t.LastUsedAt.IsZero() {
				used = t.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.CreatedAt.Format("2006-01-02 15:04"), used, engine.ScopeText(t))
		}
		tw.Flush()
	case "revoke":
		if len(rest) != 2 {
			fmt.Fprintln(stderr, "baton agent-token revoke: give the token's ID (baton agent-token list shows it)")
			return exitBadArgs
		}
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "baton agent-token revoke: %q is not a token ID\n", rest[1])
			return exitBadArgs
		}
		if err := store.DeleteAgentToken(ctx, id); errors.Is(err, model.ErrNotFound) {
			fmt.Fprintf(stderr, "baton agent-token: there is no agent token %d (baton agent-token list shows them)\n", id)
			return exitFailed
		} else if err != nil {
			fmt.Fprintf(stderr, "baton agent-token: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "agent token %d revoked; a running server disconnects the agents using it within a second\n", id)
	default:
		fmt.Fprintf(stderr, "baton agent-token: unknown action %q: use create, list or revoke\n", rest[0])
		return exitBadArgs
	}
	return exitOK
}
