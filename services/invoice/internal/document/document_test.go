package document

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sample is a finalized invoice with a credit, accents in both parties'
// names and a line split inside a day. Its amounts add up as the invoice
// service computes them: 49.00 + 2.35 = 51.35; 51.35 − 5.00 credit = 46.35.
func sample() Document {
	return Document{
		Seller: Party{
			Name:    "Meterplane Demo GmbH",
			Address: []string{"Musterstrasse 1", "8000 Zürich", "Switzerland"},
			Email:   "billing@example.com",
			TaxID:   "CHE-123.456.789",
		},
		Number:     "MP-2026-000123",
		Status:     "FINALIZED",
		IssueDate:  time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC),
		PeriodFrom: day(2026, 3, 1),
		PeriodTo:   day(2026, 4, 1),
		Customer: Customer{
			Name:       "Zoë Müller-Łukasiewicz",
			ExternalID: "crm-4711",
			Email:      "zoe@example.org",
			Address:    []string{"Rue de l'Église 5", "1003 Lausanne"},
		},
		Currency: "EUR",
		Lines: []Line{
			{
				Description: "Sites package 50, monthly fee in advance",
				PeriodFrom:  day(2026, 4, 1), PeriodTo: day(2026, 5, 1),
				Quantity: "1", Unit: "month", UnitPrice: "49.00", Amount: "49.00",
			},
			{
				Description: "Bandwidth above the 100 GiB included",
				PeriodFrom:  day(2026, 3, 1), PeriodTo: time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC),
				Quantity: "23.5", Unit: "GiB", UnitPrice: "0.10", Amount: "2.35", // 23.5 × 0.10
			},
		},
		Subtotal:      "51.35",
		CreditApplied: "5.00",
		Total:         "46.35",
		Notes:         "Payment within 30 days.\n\nThank you for your business.",
	}
}

func TestTitle(t *testing.T) {
	t.Parallel()
	d := sample()
	if got := d.Title(); got != "Invoice MP-2026-000123" {
		t.Errorf("Title() = %q", got)
	}
	d.Number = ""
	if got := d.Title(); got != "Invoice DRAFT" {
		t.Errorf("draft Title() = %q", got)
	}
}

func TestFormatPeriod(t *testing.T) {
	t.Parallel()
	zurich := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"a calendar month ends on its last day", day(2026, 3, 1), day(2026, 4, 1), "1 Mar 2026 – 31 Mar 2026"},
		{"February of a leap year", day(2028, 2, 1), day(2028, 3, 1), "1 Feb 2028 – 29 Feb 2028"},
		{"a one-day period is that day", day(2026, 3, 5), day(2026, 3, 6), "5 Mar 2026 – 5 Mar 2026"},
		{"a year", day(2026, 1, 1), day(2027, 1, 1), "1 Jan 2026 – 31 Dec 2026"},
		{"an end inside a day is that instant", day(2026, 3, 1), time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC), "1 Mar 2026 – 15 Mar 2026 14:30"},
		{"a start inside a day is that instant", time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC), day(2026, 4, 1), "15 Mar 2026 14:30 – 31 Mar 2026"},
		{"seconds are shown when there are some", time.Date(2026, 3, 15, 14, 30, 5, 0, time.UTC), day(2026, 4, 1), "15 Mar 2026 14:30:05 – 31 Mar 2026"},
		// 2026-03-01 01:00 CET is 2026-03-01 00:00 UTC: periods are UTC.
		{"other zones are shown in UTC", time.Date(2026, 3, 1, 1, 0, 0, 0, zurich), time.Date(2026, 4, 1, 1, 0, 0, 0, zurich), "1 Mar 2026 – 31 Mar 2026"},
		{"no period", time.Time{}, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatPeriod(tt.from, tt.to); got != tt.want {
				t.Errorf("FormatPeriod(%v, %v) = %q, want %q", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestShowCredit(t *testing.T) {
	t.Parallel()
	for credit, want := range map[string]bool{"": false, "0.00": false, "0": false, "5.00": true, "-5.00": true, "0.01": true, "100": true} {
		d := Document{CreditApplied: credit}
		if got := d.ShowCredit(); got != want {
			t.Errorf("ShowCredit() with credit %q = %v, want %v", credit, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in     string
		keepNewlines bool
		want         string
	}{
		{"valid text is kept", "Zoë Łukasiewicz", false, "Zoë Łukasiewicz"},
		{"invalid UTF-8 becomes U+FFFD", "Zo\xeb", false, "Zo\uFFFD"},
		{"control characters become spaces", "a\tb\x00c\nd", false, "a b c d"},
		{"notes keep their line breaks", "a\nb\r", true, "a\nb "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := clean(tt.in, tt.keepNewlines); got != tt.want {
				t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
