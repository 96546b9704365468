package subscription_test

import (
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	sub "github.com/meterplane/meterplane/services/subscription/internal/subscription"
	"github.com/meterplane/meterplane/services/subscription/migrations"
)

// TestEntitlementsValidUntil: each answer says until when it holds, the
// next segment boundary after the time asked.
func TestEntitlementsValidUntil(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		c := e.customer(t, sub.CustomerInput{})
		later := e.customer(t, sub.CustomerInput{Name: "Later"})
		idle := e.customer(t, sub.CustomerInput{Name: "Idle"})

		trialEnd := t0.AddDate(0, 0, 14)
		s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", TrialDays: 14})
		// A downgrade to the yearly plan takes effect at the period's end,
		// Feb 1.
		_, ch, err := e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "yearly"})
		must(t, err)
		if !ch.Effective.Equal(date(2026, 2, 1)) {
			t.Fatalf("the downgrade takes effect at %v, want Feb 1", ch.Effective)
		}
		e.subscribe(t, sub.SubscribeInput{CustomerID: later.ID, Plan: "basic", Start: date(2026, 3, 1)})

		for _, tt := range []struct {
			name     string
			customer string
			at       time.Time
			active   int
			want     time.Time
		}{
			{"in the trial, until the trial ends", c.ID, t0, 1, trialEnd},
			{"an instant before the trial ends, the same", c.ID, trialEnd.Add(-time.Microsecond), 1, trialEnd},
			{"after the trial, until the scheduled downgrade", c.ID, trialEnd, 1, date(2026, 2, 1)},
			{"after the downgrade, nothing is scheduled", c.ID, date(2026, 2, 1), 1, time.Time{}},
			{"no plan yet, until the subscription starts", later.ID, t0, 0, date(2026, 3, 1)},
			{"no subscription at all: for ever", idle.ID, t0, 0, time.Time{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := e.svc.Entitlements(ctx, tt.customer, tt.at)
				must(t, err)
				if got.Active != tt.active || !got.ValidUntil.Equal(tt.want) {
					t.Errorf("active %d valid until %v, want %d and %v", got.Active, got.ValidUntil, tt.active, tt.want)
				}
			})
		}

		// A cancellation recorded later bounds the answer too.
		_, _, err = e.svc.Cancel(ctx, s.ID, sub.When{Timing: sub.At, At: date(2026, 1, 28)})
		must(t, err)
		got, err := e.svc.Entitlements(ctx, c.ID, trialEnd)
		must(t, err)
		if !got.ValidUntil.Equal(date(2026, 1, 28)) {
			t.Errorf("after the cancellation: valid until %v, want Jan 28", got.ValidUntil)
		}
		got, err = e.svc.Entitlements(ctx, c.ID, date(2026, 1, 28))
		must(t, err)
		if got.Active != 0 || !got.ValidUntil.IsZero() {
			t.Errorf("after the cancellation took effect: %+v", got)
		}
	})
}
