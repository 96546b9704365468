// Package page pages list calls by an opaque token holding the last key of
// the previous page.
package page

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/meterplane/meterplane/platform/errs"
)

// Page sizes of list calls.
const (
	DefaultSize = 50
	MaxSize     = 500
)

// Request asks for one page of a list ordered by key. Size 0 means
// DefaultSize; sizes above MaxSize are clamped to it. Token is the NextToken
// of the previous page, empty for the first.
type Request struct {
	Size  int32
	Token string
}

// Page is one page of a list and the token of the next, empty on the last.
type Page[T any] struct {
	Items     []T
	NextToken string
}

// Check records the violations of the request in v.
func (r Request) Check(v *errs.Violations) {
	if r.Size < 0 {
		v.Add("page_size", "must not be negative")
	}
	if _, ok := decodeToken(r.Token); !ok {
		v.Add("page_token", "is not a token returned by this list")
	}
}

// Cursor returns the key after which the page starts and how many items it
// holds. The request must have passed Check.
func (r Request) Cursor() (after string, limit int) {
	after, _ = decodeToken(r.Token)
	switch {
	case r.Size == 0:
		limit = DefaultSize
	case r.Size > MaxSize:
		limit = MaxSize
	default:
		limit = int(r.Size)
	}
	return after, limit
}

// New makes a page of at most limit items out of items, which a store
// returned with up to one item more than limit to tell whether a next page
// exists.
func New[T any](items []T, limit int, key func(T) string) Page[T] {
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, NextToken: Token(key(items[limit-1]))}
}

// Token returns the token of the page after the one ending with lastKey.
func Token(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

// decodeToken reads a token. A token is the base64 (URL alphabet, unpadded) of the last key of the
// previous page. Clients must treat it as opaque.
func decodeToken(token string) (string, bool) {
	if token == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || len(b) > 255 || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}
