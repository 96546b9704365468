// Package textcheck holds the rules every string and timestamp a client
// sends must follow before any service stores or computes with it. The
// shared server applies them to every field of every request; a service
// applies them itself only to the items of a batch it answers item by item
// (see server.Service.ItemFields).
package textcheck

import (
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// The range of times the system accepts and computes with: wide enough for
// any billing history and schedule, narrow enough that adding any accepted
// interval to an accepted time stays a valid time on every engine.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// String returns a description of what is wrong with s, or "" when s is
// fine: valid UTF-8 with no NUL character (PostgreSQL cannot store one).
func String(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL characters"
	}
	return ""
}

// Timestamp returns a description of what is wrong with ts, or "" when it
// is unset or a valid time in [MinTime, MaxTime).
func Timestamp(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	if err := ts.CheckValid(); err != nil {
		return "must be a valid timestamp"
	}
	if t := ts.AsTime(); t.Before(MinTime) || !t.Before(MaxTime) {
		return "must be from 1970-01-01T00:00:00Z up to (excluding) 9000-01-01T00:00:00Z"
	}
	return ""
}
