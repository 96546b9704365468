// Package auth is who may call what: API keys (tokens, their hashes), the
// callers they stand for, the one table of which role may call which RPC
// (policy.go), and the interceptors that enforce it (guard.go).
//
// A token is "mp_<key id>_<secret>". The key id is public (it names the key
// in lists and logs); the secret is 32 or more letters and digits, of which
// the keys' owner (the subscription service) stores only the SHA-256.
// Secrets are random and long, so a fast hash is enough: there is nothing
// to guess by brute force.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"slices"
	"strings"

	"github.com/meterplane/meterplane/platform/errs"
)

// Role is what a caller may do.
type Role string

const (
	// Admin may do everything.
	Admin Role = "admin"
	// Provisioner may call quota, ingest for any customer, and read the
	// catalog and customers.
	Provisioner Role = "provisioner"
	// Collector may ingest usage and mark periods complete.
	Collector Role = "collector"
	// Customer may read one customer's own data (a reseller's: its
	// children's too) and the published catalog.
	Customer Role = "customer"
	// Service is another Meterplane service, by the service credential.
	Service Role = "service"
)

// Caller is who makes a call.
type Caller struct {
	// KeyID names the key; "service" for the service credential.
	KeyID string
	Role  Role
	// Customers are, for a customer key, its customer first and then, for
	// a reseller, its children: the customers it may see.
	Customers []string
}

// Sees reports whether the caller may see the customer's data.
func (c Caller) Sees(customerID string) bool {
	return c.Role != Customer || slices.Contains(c.Customers, customerID)
}

type callerKey struct{}

// NewContext returns ctx carrying the caller.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller that ctx carries, if any. Calls on a
// server without keys (tests of one service) carry none.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// CustomerScope returns, when ctx carries a customer key's caller, the
// customers it may see, and true: a store reading customers' data then
// reads only theirs.
func CustomerScope(ctx context.Context) ([]string, bool) {
	c, ok := FromContext(ctx)
	if !ok || c.Role != Customer {
		return nil, false
	}
	return c.Customers, true
}

// Prefix begins every token.
const Prefix = "mp_"

const (
	minSecret = 32
	maxSecret = 128
	maxKeyID  = 40
)

var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns a new token for the key id, with a random secret of 160
// bits.
func NewToken(keyID string) string {
	b := make([]byte, 25)
	rand.Read(b)
	return Prefix + keyID + "_" + secretEncoding.EncodeToString(b)
}

// Parse splits a token into its key id and secret; a token that is not of
// the form errs with Unauthenticated.
func Parse(token string) (keyID, secret string, err error) {
	rest, ok := strings.CutPrefix(token, Prefix)
	if ok {
		keyID, secret, ok = strings.Cut(rest, "_")
	}
	if !ok || !validID(keyID) || len(secret) < minSecret || len(secret) > maxSecret || !alnum(secret) {
		return "", "", errs.New(errs.Unauthenticated, "malformed API key: want mp_<key id>_<secret>")
	}
	return keyID, secret, nil
}

// ValidKeyID reports whether id may name a key: 1 to 40 lower-case letters,
// digits and hyphens.
func ValidKeyID(id string) bool { return validID(id) }

func validID(id string) bool {
	if id == "" || len(id) > maxKeyID {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Hash is what is stored of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Matches reports whether secret hashes to hash, in time that does not
// depend on where they differ.
func Matches(hash []byte, secret string) bool {
	return subtle.ConstantTimeCompare(hash, Hash(secret)) == 1
}

// Verifier tells who a token belongs to. A token that is malformed,
// unknown, revoked or expired is an errs.Unauthenticated error; a verifier
// that cannot answer (its store or peer is down) returns another error.
type Verifier interface {
	Verify(ctx context.Context, token string) (Caller, error)
}

// VerifierFunc is a Verifier.
type VerifierFunc func(ctx context.Context, token string) (Caller, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, token string) (Caller, error) { return f(ctx, token) }
