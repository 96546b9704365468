// Package pbtime converts between time.Time and protobuf timestamps; the
// zero time and an unset timestamp stand for each other.
package pbtime

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// New converts t, the zero time to nil (unset).
func New(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Time converts ts to UTC, nil (unset) to the zero time.
func Time(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}
