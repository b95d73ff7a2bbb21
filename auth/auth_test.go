package auth

import (
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Fatalf("short password accepted: %v", err)
	}
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "correct horse battery"); err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if err := CheckPassword(h, "wrong horse battery"); err != ErrWrongPassword {
		t.Errorf("wrong password: %v", err)
	}
	if p := RandomPassword(); len(p) != 20 || p == RandomPassword() {
		t.Errorf("random password %q", p)
	}
}

func TestTokens(t *testing.T) {
	tok, hash, display := NewToken()
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) < 40 || !strings.HasPrefix(tok, display) {
		t.Fatalf("token %q display %q", tok, display)
	}
	if HashToken(tok) != hash || HashToken(" "+tok+"\n") != hash {
		t.Errorf("hash does not match")
	}
	other, _, _ := NewToken()
	if other == tok {
		t.Errorf("two tokens alike")
	}
}
