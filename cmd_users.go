package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"baton/auth"
	"baton/model"
	"baton/storage"
)

// dbPath is the database file of a data directory.
func dbPath(dataDir string) string { return filepath.Join(dataDir, "baton.db") }

// exists reports whether a file is there.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openData opens the database of a data directory for an admin command. It
// works while the server runs: SQLite serialises the writes.
func openData(dir string, stderr io.Writer) (*storage.Store, bool) {
	path := dbPath(dir)
	if !exists(path) {
		fmt.Fprintf(stderr, "baton: no database at %s: point --data at the server's data directory\n", path)
		return nil, false
	}
	s, err := storage.Open(context.Background(), path)
	if err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return nil, false
	}
	return s, true
}

// readPassword reads a password from stdin when --password-stdin is given,
// or makes a random one.
func readPassword(fromStdin bool) (string, bool, error) {
	if !fromStdin {
		return auth.RandomPassword(), true, nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func cmdUser(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user", stdout, stderr)
	data := fs.String("data", envString("data", "./baton-data"), help("data", "the server's data directory"))
	stdin := fs.Bool("password-stdin", false, "add, passwd: read the password from the first line of stdin instead of making one")
	rest, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "baton user: say what to do: add NAME, passwd NAME, list or remove NAME")
		return exitBadArgs
	}
	store, ok := openData(*data, stderr)
	if !ok {
		return exitFailed
	}
	defer store.Close()
	ctx := context.Background()
	need := func(n int) bool {
		if len(rest) != n {
			fmt.Fprintf(stderr, "baton user %s: give exactly one user name\n", rest[0])
			return false
		}
		return true
	}
	switch rest[0] {
	case "add", "passwd":
		if !need(2) {
			return exitBadArgs
		}
		if rest[0] == "add" {
			if err := auth.CheckUserName(rest[1]); err != nil {
				fmt.Fprintf(stderr, "baton user add: %v\n", err)
				return exitBadArgs
			}
		}
		password, made, err := readPassword(*stdin)
		if err != nil {
			fmt.Fprintf(stderr, "baton user: %v\n", err)
			return exitFailed
		}
		hash, err := auth.HashPassword(password)
		if err != nil {
			fmt.Fprintf(stderr, "baton user: %v\n", err)
			return exitBadArgs
		}
		ended := 0
		if rest[0] == "add" {
			_, err = store.CreateUser(ctx, rest[1], hash)
		} else {
			ended, err = store.SetPassword(ctx, rest[1], hash)
		}
		if err != nil {
			fmt.Fprintf(stderr, "baton user: %v\n", userError(err, rest[1]))
			return exitFailed
		}
		if made {
			fmt.Fprintf(stdout, "password of %s: %s\n", rest[1], password)
		} else {
			fmt.Fprintf(stdout, "password of %s set\n", rest[1])
		}
		if ended > 0 {
			fmt.Fprintf(stdout, "logged out %d session(s) of %s; their open pages follow within a few seconds\n", ended, rest[1])
		}
	case "list":
		users, err := store.ListUsers(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "baton user: %v\n", err)
			return exitFailed
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADDED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		tw.Flush()
	case "remove":
		if !need(2) {
			return exitBadArgs
		}
		if users, err := store.ListUsers(ctx); err == nil && len(users) == 1 && users[0].Name == rest[1] {
			fmt.Fprintf(stderr, "baton user remove: %s is the only user; add another first (baton user add NAME), or nobody could log in\n", rest[1])
			return exitFailed
		}
		if err := store.DeleteUser(ctx, rest[1]); err != nil {
			fmt.Fprintf(stderr, "baton user: %v\n", userError(err, rest[1]))
			return exitFailed
		}
		fmt.Fprintf(stdout, "removed %s, their tokens and their sessions\n", rest[1])
	default:
		fmt.Fprintf(stderr, "baton user: unknown action %q: use add, passwd, list or remove\n", rest[0])
		return exitBadArgs
	}
	return exitOK
}

func userError(err error, name string) error {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return fmt.Errorf("there is no user %s (baton user list shows them)", name)
	case errors.Is(err, storage.ErrConflict):
		return fmt.Errorf("there is already a user %s", name)
	}
	return err
}

func cmdToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token", stdout, stderr)
	data := fs.String("data", envString("data", "./baton-data"), help("data", "the server's data directory"))
	user := fs.String("user", "admin", "create, list: whose tokens")
	name := fs.String("name", "cli", "create: a name that says what the token is for")
	rest, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "baton token: say what to do: create, list or revoke ID")
		return exitBadArgs
	}
	store, ok := openData(*data, stderr)
	if !ok {
		return exitFailed
	}
	defer store.Close()
	ctx := context.Background()
	u, err := store.GetUser(ctx, *user)
	if err != nil && rest[0] != "revoke" {
		fmt.Fprintf(stderr, "baton token: %v\n", userError(err, *user))
		return exitFailed
	}
	switch rest[0] {
	case "create":
		token, hash, prefix := auth.NewToken()
		if _, err := store.CreateAPIToken(ctx, u.ID, *name, hash, prefix); err != nil {
			fmt.Fprintf(stderr, "baton token: %v\n", err)
			return exitFailed
		}
		fmt.Fprintln(stdout, token)
	case "list":
		toks, err := store.ListAPITokens(ctx, u.ID)
		if err != nil {
			fmt.Fprintf(stderr, "baton token: %v\n", err)
			return exitFailed
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTOKEN\tCREATED\tLAST USED")
		for _, t := range toks {
			used := "never"
			if !t.LastUsedAt.IsZero() {
				used = t.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.CreatedAt.Format("2006-01-02 15:04"), used)
		}
		tw.Flush()
	case "revoke":
		if len(rest) != 2 {
			fmt.Fprintln(stderr, "baton token revoke: give the token's ID (baton token list shows it)")
			return exitBadArgs
		}
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "baton token revoke: %q is not a token ID\n", rest[1])
			return exitBadArgs
		}
		if err := store.DeleteAPIToken(ctx, 0, id); errors.Is(err, model.ErrNotFound) {
			fmt.Fprintf(stderr, "baton token: there is no API token %d (baton token list --user NAME shows them)\n", id)
			return exitFailed
		} else if err != nil {
			fmt.Fprintf(stderr, "baton token: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "token %d revoked\n", id)
	default:
		fmt.Fprintf(stderr, "baton token: unknown action %q: use create, list or revoke\n", rest[0])
		return exitBadArgs
	}
	return exitOK
}
