package pbtime_test

import (
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/pbtime"
)

func TestRoundTrip(t *testing.T) {
	if pbtime.New(time.Time{}) != nil || !pbtime.Time(nil).IsZero() {
		t.Error("the zero time and nil must stand for each other")
	}
	at := time.Date(2026, 2, 28, 23, 59, 59, 123456000, time.FixedZone("CET", 3600))
	got := pbtime.Time(pbtime.New(at))
	if !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("round trip of %v = %v, want the same instant in UTC", at, got)
	}
}
