package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testOwner reads the owner of a test session: data is the user id as 8
// bytes, anything else is nobody's.
func testOwner(data []byte) int64 {
	if len(data) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(data))
}

func ownedBy(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func mustUser(t *testing.T, s *Store, name string) int64 {
	t.Helper()
	u, err := s.CreateUser(context.Background(), name, "hash-of-"+name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func found(t *testing.T, ss *Sessions, token string) bool {
	t.Helper()
	_, ok, err := ss.FindCtx(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSessionTokensAreHashed(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatal(err)
	}
	ss := s.Sessions(testOwner)
	ctx := context.Background()
	token := "a-session-token-of-43-characters-0123456789"
	if err := ss.CommitCtx(ctx, token, []byte("nobody's session"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var data []byte
	var ok bool
	data, ok, err = ss.FindCtx(ctx, token)
	if err != nil || !ok || string(data) != "nobody's session" {
		t.Fatalf("find = %q %v %v", data, ok, err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = ? OR instr(token_hash, ?) > 0`, token, token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows holding the token itself: %d (%v)", n, err)
	}
	// Before the write-ahead log is folded into the file, and after.
	noToken := func(when string) {
		for _, p := range []string{s.Path(), s.Path() + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(token)) {
				t.Errorf("%s: %s holds the token in the clear", when, p)
			}
		}
	}
	noToken("open")
	s.Close()
	noToken("closed")
}

func TestEndedSessionStaysEnded(t *testing.T) {
	s := NewTestStore(t)
	ss := s.Sessions(testOwner)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	exp := time.Now().Add(time.Hour)
	if err := ss.CommitCtx(ctx, "alice-1", ownedBy(alice), exp); err != nil {
		t.Fatal(err)
	}
	if err := ss.DeleteCtx(ctx, "alice-1"); err != nil {
		t.Fatal(err)
	}
	// A request of that session still in flight saves it afterwards.
	if err := ss.CommitCtx(ctx, "alice-1", ownedBy(alice), exp); err != nil {
		t.Fatal(err)
	}
	if found(t, ss, "alice-1") {
		t.Error("a late save brought an ended session back")
	}
	// A session of a user who does not exist is not stored.
	if err := ss.CommitCtx(ctx, "ghost-1", ownedBy(alice+100), exp); err != nil {
		t.Fatal(err)
	}
	if found(t, ss, "ghost-1") {
		t.Error("a session of a user who does not exist was stored")
	}
}

func TestPasswordAndRemovalEndSessions(t *testing.T) {
	s := NewTestStore(t)
	ss := s.Sessions(testOwner)
	ctx := context.Background()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	exp := time.Now().Add(time.Hour)
	for _, c := range []struct {
		token string
		data  []byte
	}{{"alice-1", ownedBy(alice)}, {"alice-2", ownedBy(alice)}, {"bob-1", ownedBy(bob)}, {"anon-1", []byte("x")}} {
		if err := ss.CommitCtx(ctx, c.token, c.data, exp); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SetPassword(ctx, "alice", "new-hash")
	if err != nil || n != 2 {
		t.Fatalf("set password: ended %d (%v), want 2", n, err)
	}
	if u, _ := s.GetUser(ctx, "alice"); u == nil || u.PasswordHash != "new-hash" {
		t.Errorf("password not changed: %+v", u)
	}
	if found(t, ss, "alice-1") || found(t, ss, "alice-2") {
		t.Error("alice's sessions survived her password change")
	}
	if !found(t, ss, "bob-1") || !found(t, ss, "anon-1") {
		t.Error("alice's password change ended other sessions")
	}
	if _, err := s.SetPassword(ctx, "nobody", "x"); !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("set password of nobody: %v", err)
	}

	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if found(t, ss, "bob-1") {
		t.Error("bob's session survived his removal")
	}
	// bob had the highest id: SQLite gives it to the next user.
	carol := mustUser(t, s, "carol")
	if err := ss.CommitCtx(ctx, "bob-1", ownedBy(carol), exp); err != nil {
		t.Fatal(err)
	}
	if found(t, ss, "bob-1") {
		t.Errorf("bob's ended session came back for carol (id %d, bob had %d)", carol, bob)
	}

	// Expired rows go, ended or not.
	if _, err := s.w.Exec(`UPDATE sessions SET expiry = ?`, time.Now().Add(-time.Second).Unix()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpiredSessions(ctx); err != nil {
		t.Fatal(err)
	}
	var left int
	s.r.QueryRow(`SELECT count(*) FROM sessions`).Scan(&left)
	if left != 0 {
		t.Errorf("%d expired sessions left", left)
	}
}

// TestUpgradeDropsPlaintextSessions builds a database as the version before
// the hashed sessions left it, with a session token in the clear, and opens
// it with this version: the token is gone and does not log anyone in.
func TestUpgradeDropsPlaintextSessions(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	hashed := 0
	for _, m := range all {
		if strings.HasSuffix(m.name, "_hashed_sessions.sql") {
			hashed = m.version
		}
	}
	if hashed == 0 {
		t.Fatal("no hashed_sessions migration")
	}
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all[:hashed-1] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	const token = "plaintext-token-from-before-the-upgrade-0123"
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d; INSERT INTO sessions (token, data, expiry) VALUES (?, x'00', ?)`, hashed-1),
		token, time.Now().Add(time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if found(t, s.Sessions(testOwner), token) {
		t.Error("a session from before the upgrade still logs in")
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions from before the upgrade left (%v)", n, err)
	}
}
