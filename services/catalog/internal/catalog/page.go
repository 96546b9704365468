package catalog

import (
	"encoding/base64"

	"github.com/meterplane/meterplane/platform/errs"
)

// Page sizes of list calls.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// PageRequest asks for one page of a list ordered by key. Size 0 means
// DefaultPageSize, sizes above MaxPageSize are clamped to it. Token is the
// NextToken of the previous page, empty for the first.
type PageRequest struct {
	Size  int32
	Token string
}

// Page is one page of a list and the token of the next, empty on the last.
type Page[T any] struct {
	Items     []T
	NextToken string
}

// check records the violations of the page request.
func (p PageRequest) check(v *errs.Violations) {
	if p.Size < 0 {
		v.Add("page_size", "must not be negative")
	}
	if _, ok := decodeToken(p.Token); !ok {
		v.Add("page_token", "is not a token returned by this list")
	}
}

// Validate checks the page size and token.
func (p PageRequest) Validate() error {
	var v errs.Violations
	p.check(&v)
	return v.Err()
}

// cursor returns the key after which the page starts and how many items it
// holds. The request must be valid.
func (p PageRequest) cursor() (after string, limit int) {
	after, _ = decodeToken(p.Token)
	switch {
	case p.Size == 0:
		limit = DefaultPageSize
	case p.Size > MaxPageSize:
		limit = MaxPageSize
	default:
		limit = int(p.Size)
	}
	return after, limit
}

// A page token is the base64 (URL alphabet, unpadded) of the last key of
// the previous page. Clients must treat it as opaque.
func encodeToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

func decodeToken(token string) (string, bool) {
	if token == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !slugKey.Match(b) {
		return "", false
	}
	return string(b), true
}

// newPage makes a page of at most limit items out of items, which a store
// returned with up to one item more than limit to tell whether a next page
// exists.
func newPage[T any](items []T, limit int, key func(T) string) Page[T] {
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, NextToken: encodeToken(key(items[limit-1]))}
}
