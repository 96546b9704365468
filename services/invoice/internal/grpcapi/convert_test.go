package grpcapi

import (
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// Money leaves the API with at least the currency's scale: amounts at
// it exactly, unit prices with any further digits they have.
func TestLineMoneyHasTheCurrencysScale(t *testing.T) {
	eur, _ := money.LookupCurrency("EUR")
	month := rating.Period{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	line := func(price, amount string) invoice.Line {
		return invoice.Line{ID: "li_1", Line: rating.Line{Kind: rating.KindUsage, Quantity: money.MustParse("100"),
			UnitPrice: money.MustParse(price), Amount: money.MustParse(amount), Period: month}}
	}
	inv := invoice.Invoice{ID: "inv_1", Currency: eur, Period: month, Status: invoice.StatusDraft,
		Lines:    []invoice.Line{line("49", "49"), line("0.0004", "0.04")},
		Subtotal: money.MustParse("49.04"), CreditApplied: money.Zero, Total: money.MustParse("49.04"), Credited: money.Zero}
	out := invoiceOut(inv, true)
	for i, want := range [][2]string{{"49.00", "49.00"}, {"0.0004", "0.04"}} {
		l := out.GetLines()[i]
		if l.GetUnitPrice() != want[0] || l.GetAmount() != want[1] {
			t.Errorf("line %d: unit price %q amount %q, want %q %q", i, l.GetUnitPrice(), l.GetAmount(), want[0], want[1])
		}
	}
	if out.GetTotal() != "49.04" || out.GetCreditApplied() != "0.00" {
		t.Errorf("total %q credit applied %q", out.GetTotal(), out.GetCreditApplied())
	}
}
