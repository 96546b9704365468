package grpcapi

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meterplane/meterplane/platform/textcheck"
)

// TestEventTime checks that only an unset event time becomes the zero
// time (which the domain answers as required); a set time of year 1, even
// the zero time's instant, or an invalid timestamp stays out of range.
func TestEventTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		ts       *timestamppb.Timestamp
		zero, in bool
	}{
		{"unset", nil, true, false},
		{"the zero time's instant", timestamppb.New(time.Time{}), false, false},
		{"year 1", timestamppb.New(time.Date(1, 6, 1, 0, 0, 0, 0, time.UTC)), false, false},
		{"invalid nanos", &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, false, false},
		{"2026", timestamppb.New(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := eventTime(tt.ts)
			in := !got.Before(textcheck.MinTime) && got.Before(textcheck.MaxTime)
			if got.IsZero() != tt.zero || in != tt.in {
				t.Errorf("eventTime = %v: zero %v, in range %v; want %v, %v", got, got.IsZero(), in, tt.zero, tt.in)
			}
		})
	}
}
