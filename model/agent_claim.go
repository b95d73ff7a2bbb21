package model

// AgentClaim is how the credential an agent presents compares with what
// the server holds for its name.
type AgentClaim int

// The answers to an agent's claim of a name.
const (
	// ClaimProven: the credential is the one that holds the name.
	ClaimProven AgentClaim = iota
	// ClaimRegistered: the name was free; the credential holds it now.
	ClaimRegistered
	// ClaimMismatch: another credential holds the name.
	ClaimMismatch
	// ClaimRevoked: an operator reset this credential; it holds nothing.
	ClaimRevoked
)
