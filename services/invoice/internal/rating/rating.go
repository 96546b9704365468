// Package rating turns what one invoice period of a customer holds into
// invoice lines. It is a pure function: no database, no RPC, no clock. The
// billing run and PreviewInvoice call it with what they read from the
// subscription service (segments), the catalog (the plan versions the
// segments copy) and metering (usage).
//
// # The rule
//
// An invoice covers the customer's period N = [From, To); Next is period N+1.
// Every subscription bills its recurring fees by its own interval periods
// (the customer's anchor with the segment's billing interval), so a yearly
// fee inside monthly invoices is charged once a year. A segment is a stretch
// [From, To) of a subscription with one plan version and quantity; trial
// segments carry no recurring or one-time fee. Amounts below are exact; each
// line is then rounded once to the currency's minor unit, half away from zero,
// and a total is the sum of its rounded lines.
//
// Recurring fee A of a segment with quantity q, over an interval period
// P = [S, E) of length |P| seconds. A prorated fee for [a, b) inside P costs
// A × q × (b − a) / |P|; a fee that is not prorated costs A × q whole.
//
//   - In arrears: each segment pays for the part of P it covers. The lines of
//     P are billed on the invoice whose period contains the end of the
//     subscription's coverage of P, min(E, the subscription's end), taken as
//     From < end <= To. A fee that is not prorated is billed whole, once per
//     P, by the segment that covers P's end of coverage.
//   - In advance: a charge at time c covers [c, E) of the P containing c, as
//     if the segment lasted to E; when the segment ends at d strictly inside
//     P, a proration credit gives back [d, E). Charges and credits telescope,
//     so every segment pays exactly for the time it covers. Where they are
//     billed: the renewal at S (the segment covers S, and began before S or is
//     not the subscription's first) on the invoice of the period before S,
//     To <= S < Next.To ("N carries N+1's advance fees"), unless paying
//     started after that period ended: then on the invoice of the period in
//     which paying started, which no earlier invoice knew; the subscription's
//     first fee, from its start (its first paid segment, after a trial), on
//     the invoice whose period contains the start ("invoiced when it
//     starts"); a plan or quantity change at c
//     strictly inside P (a proration charge for the new segment) and a
//     segment's end d (a proration credit for the old one) on the invoice
//     whose period contains c or d. So an upgrade or downgrade mid-period
//     gives two explained lines, a credit for the unused part of the old fee
//     and a charge for the new fee's remainder; an immediate cancellation
//     gives the credit alone; a cancellation at the period's end gives no
//     line, because no renewal follows. A fee that is not prorated is billed
//     whole at renewals and at the start, and is never credited or charged
//     in between.
//
// One-time fees F of the subscription's first paid (non-trial) segment cost
// F × q, on the invoice whose period contains that segment's start.
//
// Usage, per feature, on the invoice of the period it was used in, with
// T = |N| seconds:
//
//   - U is the customer's usage in N: the sum for a counter, unit-periods
//     for a gauge (the time-weighted level divided by |N|: 2 sites for half of
//     April and 4 for the other half is 3 site-months).
//   - Q = Σ over the segments overlapping N (trials included, as
//     entitlements are) of Q_plan × q × (seconds of N the segment covers) / T.
//   - The billable quantity is B = max(0, U − Q).
//   - Every segment overlapping N whose plan prices the feature offers a
//     price for B: the entitlement's overage price O (B × O), or a usage
//     charge of the feature (per unit: B × price; graduated: each tier prices
//     the units inside it, plus its flat price once reached; volume: the tier
//     B falls into prices every unit, plus its flat price; package: every
//     started package of size s, ⌈B / s⌉, minus the free packages, at the
//     package price). B = 0 costs 0 in every model. The lowest of the offers
//     applies (for overage prices alone: the lowest O, as entitlements say),
//     the earliest offer on a tie; the line names the subscription and plan
//     that made it. A feature no plan prices is not billed; a used feature
//     that one prices gets a line even at 0, to show U, Q and B.
//   - With a flat fee this is the Aegir rule A + max(0, U − Q) × O; A = 0 is
//     pure usage billing.
//
// Separate invoices: lines of a subscription marked BillSeparately go on its
// own invoice; a usage line goes with the subscription whose offer applies.
//
// Credit balance: an invoice whose total is negative gets a credit line that
// brings it to zero and adds the amount to the customer's credit balance; a
// positive total is reduced by the balance, as far as it goes.
package rating

import (
	"errors"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/shopspring/decimal"
)

// Decimal is the exact decimal of every amount and quantity.
type Decimal = money.Decimal

// Period is a half-open span [From, To) in UTC.
type Period struct {
	From, To time.Time
}

// seconds returns the length of p in seconds. Billing periods start and end
// on whole seconds.
func (p Period) seconds() int64 { return p.To.Unix() - p.From.Unix() }

// IntervalUnit is the unit of a billing interval, as in the catalog.
type IntervalUnit int

// The interval units.
const (
	Day IntervalUnit = iota + 1
	Week
	Month
	Quarter
	Year
)

// Interval is how often a plan bills: Count units.
type Interval struct {
	Unit  IntervalUnit
	Count int
}

// Schedule returns the customer's billing period of interval iv that
// contains at (Start <= at < End): the subscription service's PeriodAt with
// the customer's anchor, calendar or anniversary.
type Schedule func(iv Interval, at time.Time) Period

// Timing says when a recurring fee is billed.
type Timing int

// The fee timings.
const (
	InAdvance Timing = iota + 1
	InArrears
)

// RecurringFee is a flat fee A per interval period.
type RecurringFee struct {
	Description string
	Amount      Decimal
	Timing      Timing
	Prorated    bool
}

// OneTimeFee is billed once, when the subscription starts paying.
type OneTimeFee struct {
	Description string
	Amount      Decimal
}

// Model is how a usage charge prices a quantity.
type Model int

// The pricing models.
const (
	PerUnit Model = iota + 1
	Graduated
	Volume
	Package
)

// Tier is one band of a tiered price. UpTo is the band's inclusive upper
// bound; the last tier is open and its UpTo is ignored.
type Tier struct {
	UpTo      Decimal
	UnitPrice Decimal
	FlatPrice Decimal
}

// UsageCharge prices the usage of a feature above its included quantity.
type UsageCharge struct {
	Description  string
	Feature      string
	Model        Model
	UnitPrice    Decimal // PerUnit
	Tiers        []Tier  // Graduated and Volume, ascending
	PackageSize  Decimal // Package, > 0
	PackagePrice Decimal
	FreePackages int64
}

// Entitlement is a plan's grant of a feature: Q included, and the overage
// price O when HasOverage.
type Entitlement struct {
	Feature    string
	Included   Decimal
	HasOverage bool
	Overage    Decimal
}

// Plan is what a segment bills: one published plan version.
type Plan struct {
	Key          string
	Version      int
	Interval     Interval
	ERPProductID string
	ERPUnitID    string
	// StorageERPProductID and StorageERPUnitID are the ERP ids of the
	// storage plan of the plan's offering (Servala): its gauge usage lines
	// (GiB-months of storage) carry them, its other lines the plan's.
	StorageERPProductID string
	StorageERPUnitID    string
	Fees                []RecurringFee
	OneTimeFees         []OneTimeFee
	UsageCharges        []UsageCharge
	Entitlements        []Entitlement
}

// Segment is a stretch [From, To) of a subscription with one plan version
// and quantity; a zero To means it is open.
type Segment struct {
	Plan     *Plan
	Quantity int64
	Trial    bool
	From, To time.Time
}

// end returns the segment's end, with open segments ending at far.
func (s Segment) end(far time.Time) time.Time {
	if s.To.IsZero() {
		return far
	}
	return s.To
}

// Subscription is one subscription with every one of its current segments,
// in time order and without overlap.
type Subscription struct {
	ID             string
	BillSeparately bool
	Segments       []Segment
}

// Usage is the customer's usage U of a feature in the invoice period: the
// counter's total, or the gauge's unit-periods (Gauge true).
type Usage struct {
	Feature  string
	Unit     string // "GiB", "site"; only for descriptions
	Gauge    bool
	Quantity Decimal
}

// Input is everything one customer's invoice period holds.
type Input struct {
	Currency      money.Currency
	Period        Period // N, the period being invoiced
	Next          Period // N+1, whose advance fees N carries
	Schedule      Schedule
	Subscriptions []Subscription
	Usage         []Usage
	CreditBalance Decimal // the customer's credit before this invoice, >= 0
}

// Kind says what a line is.
type Kind int

// The line kinds.
const (
	KindRecurringFee Kind = iota + 1
	KindProrationCredit
	KindProrationCharge
	KindUsage
	KindOverage
	KindOneTimeFee
	KindCredit
)

var kindNames = [...]string{
	KindRecurringFee:    "recurring_fee",
	KindProrationCredit: "proration_credit",
	KindProrationCharge: "proration_charge",
	KindUsage:           "usage",
	KindOverage:         "overage",
	KindOneTimeFee:      "one_time_fee",
	KindCredit:          "credit",
}

// String returns the kind's snake_case name.
func (k Kind) String() string {
	if k >= KindRecurringFee && k <= KindCredit {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Line is one invoice line. Amount is rounded to the currency; Quantity and
// UnitPrice explain it (for a prorated fee Amount is Quantity × UnitPrice ×
// the share of the interval period that Period is; for tiered and package
// prices UnitPrice is zero and Description names the model).
type Line struct {
	Kind           Kind
	Description    string
	Feature        string
	Quantity       Decimal
	UnitPrice      Decimal
	Amount         Decimal
	Period         Period
	SubscriptionID string
	PlanKey        string
	PlanVersion    int
	ERPProductID   string
	ERPUnitID      string
}

// Invoice is the lines of one invoice and their total. SubscriptionID is
// empty for the customer's consolidated invoice and names the subscription
// of a separate one.
type Invoice struct {
	SubscriptionID string
	Lines          []Line
	Total          Decimal
}

// Result is the invoices of the period, the consolidated one first (even
// when empty), and the customer's credit balance after them.
type Result struct {
	Invoices      []Invoice
	CreditBalance Decimal
}

// maxPeriodsPerSegment bounds the interval periods one segment may span
// inside the window rated, so that a schedule that does not advance cannot
// loop forever.
const maxPeriodsPerSegment = 10_000

// Rate computes the invoices of in.Period. It refuses input it cannot rate
// (reversed periods, overlapping segments, a tier list that is empty, a
// package of size 0, a schedule that does not contain the time asked) with
// an error and never panics.
func Rate(in Input) (Result, error) {
	if err := in.validate(); err != nil {
		return Result{}, err
	}
	r := rater{in: in, T: decimalSeconds(in.Period.seconds())}
	var lines []Line
	for i := range in.Subscriptions {
		ls, err := r.fees(&in.Subscriptions[i])
		if err != nil {
			return Result{}, err
		}
		lines = append(lines, ls...)
	}
	usage, err := r.usage()
	if err != nil {
		return Result{}, err
	}
	lines = append(lines, usage...)
	return r.group(lines), nil
}

// rater holds what every rule needs.
type rater struct {
	in Input
	T  Decimal // |N| in seconds
}

// round rounds the exact amount num / den once to the currency.
func (r *rater) round(num, den Decimal) Decimal {
	return num.DivRound(den, r.in.Currency.Minor)
}

// group splits lines into the consolidated and separate invoices and applies
// the credit balance.
func (r *rater) group(lines []Line) Result {
	separate := map[string]bool{}
	for _, s := range r.in.Subscriptions {
		if s.BillSeparately {
			separate[s.ID] = true
		}
	}
	res := Result{Invoices: []Invoice{{}}, CreditBalance: r.in.CreditBalance}
	index := map[string]int{"": 0}
	for _, s := range r.in.Subscriptions {
		if separate[s.ID] {
			index[s.ID] = len(res.Invoices)
			res.Invoices = append(res.Invoices, Invoice{SubscriptionID: s.ID})
		}
	}
	for _, l := range lines {
		key := ""
		if separate[l.SubscriptionID] {
			key = l.SubscriptionID
		}
		inv := &res.Invoices[index[key]]
		inv.Lines = append(inv.Lines, l)
	}
	for i := range res.Invoices {
		inv := &res.Invoices[i]
		total := money.Zero
		for _, l := range inv.Lines {
			total = total.Add(l.Amount)
		}
		// A negative total is owed to the customer: it becomes credit for
		// the next invoice, so that no invoice asks for a negative payment.
		// A positive one uses the credit the customer has.
		switch {
		case total.IsNegative():
			inv.Lines = append(inv.Lines, r.creditLine("Credit carried to the next invoice", total.Neg()))
			res.CreditBalance = res.CreditBalance.Add(total.Neg())
			total = money.Zero
		case total.IsPositive() && res.CreditBalance.IsPositive():
			use := decimal.Min(total, res.CreditBalance)
			inv.Lines = append(inv.Lines, r.creditLine("Credit balance applied", use.Neg()))
			res.CreditBalance = res.CreditBalance.Sub(use)
			total = total.Sub(use)
		}
		inv.Total = total
	}
	return res
}

func (r *rater) creditLine(desc string, amount Decimal) Line {
	return Line{
		Kind: KindCredit, Description: desc, Quantity: decimalOne, UnitPrice: amount,
		Amount: amount, Period: r.in.Period,
	}
}

var decimalOne = decimal.NewFromInt(1)

func decimalSeconds(s int64) Decimal { return decimal.NewFromInt(s) }

// validate refuses input that the rules cannot rate.
func (in Input) validate() error {
	if in.Currency.Code == "" {
		return errors.New("rating: no currency")
	}
	if in.Currency.Minor < 0 || in.Currency.Minor > 18 {
		return fmt.Errorf("rating: currency %s has %d minor digits", in.Currency.Code, in.Currency.Minor)
	}
	if in.Schedule == nil {
		return errors.New("rating: no schedule")
	}
	if !in.Period.From.Before(in.Period.To) || !in.Period.To.Equal(in.Next.From) || !in.Next.From.Before(in.Next.To) {
		return fmt.Errorf("rating: periods %v and %v are not consecutive and non-empty", in.Period, in.Next)
	}
	if in.CreditBalance.IsNegative() {
		return errors.New("rating: negative credit balance")
	}
	seen := map[string]bool{}
	for _, s := range in.Subscriptions {
		if seen[s.ID] {
			return fmt.Errorf("rating: subscription %s given twice", s.ID)
		}
		seen[s.ID] = true
		for i, seg := range s.Segments {
			if seg.Plan == nil {
				return fmt.Errorf("rating: subscription %s segment %d has no plan", s.ID, i)
			}
			if seg.Quantity < 0 {
				return fmt.Errorf("rating: subscription %s segment %d has a negative quantity", s.ID, i)
			}
			if !seg.To.IsZero() && !seg.From.Before(seg.To) {
				return fmt.Errorf("rating: subscription %s segment %d is empty or reversed", s.ID, i)
			}
			if i > 0 {
				prev := s.Segments[i-1]
				if prev.To.IsZero() || seg.From.Before(prev.To) {
					return fmt.Errorf("rating: subscription %s segments %d and %d overlap or are out of order", s.ID, i-1, i)
				}
			}
			if err := seg.Plan.validate(); err != nil {
				return fmt.Errorf("rating: subscription %s segment %d: %w", s.ID, i, err)
			}
		}
	}
	return nil
}

func (p *Plan) validate() error {
	if p.Interval.Unit < Day || p.Interval.Unit > Year || p.Interval.Count < 1 {
		return fmt.Errorf("plan %s has an invalid interval", p.Key)
	}
	// The catalog refuses negative prices and quantities; a negative one
	// here would turn charges into credits, so it is refused again.
	var amounts []Decimal
	for _, f := range p.Fees {
		if f.Timing != InAdvance && f.Timing != InArrears {
			return fmt.Errorf("plan %s has a fee without timing", p.Key)
		}
		amounts = append(amounts, f.Amount)
	}
	for _, f := range p.OneTimeFees {
		amounts = append(amounts, f.Amount)
	}
	for _, e := range p.Entitlements {
		amounts = append(amounts, e.Included, e.Overage)
	}
	for _, c := range p.UsageCharges {
		amounts = append(amounts, c.UnitPrice, c.PackageSize, c.PackagePrice)
		for _, t := range c.Tiers {
			amounts = append(amounts, t.UpTo, t.UnitPrice, t.FlatPrice)
		}
	}
	for _, a := range amounts {
		if a.IsNegative() {
			return fmt.Errorf("plan %s has a negative price or quantity %s", p.Key, a)
		}
	}
	for _, c := range p.UsageCharges {
		switch c.Model {
		case PerUnit:
		case Graduated, Volume:
			if len(c.Tiers) == 0 {
				return fmt.Errorf("plan %s prices %s by tiers without tiers", p.Key, c.Feature)
			}
			for i := 1; i < len(c.Tiers)-1; i++ {
				if !c.Tiers[i].UpTo.GreaterThan(c.Tiers[i-1].UpTo) {
					return fmt.Errorf("plan %s prices %s by tiers out of order", p.Key, c.Feature)
				}
			}
		case Package:
			if !c.PackageSize.IsPositive() || c.FreePackages < 0 {
				return fmt.Errorf("plan %s prices %s by packages of size %s", p.Key, c.Feature, c.PackageSize)
			}
		default:
			return fmt.Errorf("plan %s prices %s with an unknown model", p.Key, c.Feature)
		}
	}
	return nil
}
