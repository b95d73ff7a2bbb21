// Package auth holds the small pieces of Baton's authentication that both
// the HTTP layer and the command line need: password hashing, random
// passwords, and API tokens (generated, shown once, stored as hashes).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is the work factor: about 80 ms per hash on a small server,
// slow enough to make guessing expensive, fast enough for a login.
const bcryptCost = 10

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// ErrWrongPassword is returned when a password does not match its hash.
var ErrWrongPassword = errors.New("wrong user name or password")

// userName is what a user name may look like: it shows in the UI, in
// run triggers ("alice via API") and in approvals.
var userName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// CheckUserName tells what is wrong with a user name, or nil.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("user name %q: a user name is 1 to 64 letters, digits, dots, dashes or underscores", name)
	}
	return nil
}

// HashPassword returns the bcrypt hash of a password after checking it is
// long enough.
func HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return "", fmt.Errorf("the password is too short: use at least %d characters", MinPasswordLen)
	}
	if len(password) > 72 {
		return "", errors.New("the password is too long: bcrypt uses at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword compares a password with a hash in constant time.
func CheckPassword(hash, password string) error {
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		return ErrWrongPassword
	}
	return nil
}

// dummyHash is compared against when a user does not exist, so that a
// login for an unknown name takes as long as one with a wrong password.
// It is made on first use: hashing at cost 12 takes ~65 ms, which every
// baton command (run, validate, agent) would otherwise pay at start.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user, same cost"), bcryptCost)
	return h
})

// CheckNoUser spends the time a password check takes.
func CheckNoUser(password string) {
	bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
}

var encoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// RandomPassword returns a 20-character password from an alphabet without
// look-alike characters.
func RandomPassword() string {
	b := make([]byte, 13)
	rand.Read(b)
	return encoding.EncodeToString(b)[:20]
}

// TokenPrefix starts every API token, so a leaked one is easy to recognise
// (and for secret scanners to find).
const TokenPrefix = "baton_"

// NewToken returns a new API token, its hash for storage, and a short
// prefix to show in lists.
func NewToken() (token, hash, display string) {
	b := make([]byte, 24)
	rand.Read(b)
	token = TokenPrefix + encoding.EncodeToString(b)
	return token, HashToken(token), token[:len(TokenPrefix)+6]
}

// HashToken returns the stored form of a token. Tokens are long random
// strings, so a fast hash is enough: there is nothing to brute-force.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(sum[:])
}
