package subscription

import (
	"net/mail"
	"strings"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
)

// Bounds of the numbers a client may send.
const (
	// MaxQuantity is the most units a subscription may have: included
	// quantities times it stay far inside the decimal columns.
	MaxQuantity = 1_000_000
	// MaxTrialDays is the longest free trial.
	MaxTrialDays = 366
	// MaxTextLength bounds names, e-mail addresses and external ids.
	MaxTextLength = 255
	// MaxReasonLength bounds backdate reasons.
	MaxReasonLength = 1000
	// MaxIDLength bounds the ids and keys a client sends.
	MaxIDLength = 255
)

// CustomerInput creates a customer.
type CustomerInput struct {
	ExternalID string
	Name       string
	Email      string
	Currency   string
	Anchor     AnchorKind // 0 means Calendar
	ParentID   string
}

// Validate checks the customer's fields, naming them as fields of the
// request's customer.
func (in CustomerInput) Validate() error {
	var v errs.Violations
	checkCustomerFields(&v, "customer.", in.ExternalID, in.Name, in.Email)
	checkCurrency(&v, "customer.currency", in.Currency)
	if in.Anchor != 0 && !in.Anchor.Known() {
		v.Add("customer.billing_anchor", "must be CALENDAR or ANNIVERSARY")
	}
	checkID(&v, "customer.parent_customer_id", in.ParentID)
	return v.Err()
}

// CustomerUpdate changes the fields that are not nil.
type CustomerUpdate struct {
	ID         string
	ExternalID *string
	Name       *string
	Email      *string
	Currency   *string
	Anchor     *AnchorKind
	ParentID   *string
}

// Validate checks the fields that are set.
func (in CustomerUpdate) Validate() error {
	var v errs.Violations
	if in.ExternalID != nil {
		checkExternalID(&v, "external_id", *in.ExternalID)
	}
	if in.Name != nil {
		checkName(&v, "name", *in.Name)
	}
	if in.Email != nil {
		checkEmail(&v, "email", *in.Email)
	}
	if in.Currency != nil {
		checkCurrency(&v, "currency", *in.Currency)
	}
	if in.Anchor != nil && !in.Anchor.Known() {
		v.Add("billing_anchor", "must be CALENDAR or ANNIVERSARY")
	}
	if in.ParentID != nil {
		checkID(&v, "parent_customer_id", *in.ParentID)
	}
	return v.Err()
}

func checkCustomerFields(v *errs.Violations, prefix, externalID, name, email string) {
	checkExternalID(v, prefix+"external_id", externalID)
	checkName(v, prefix+"name", name)
	checkEmail(v, prefix+"email", email)
}

func checkExternalID(v *errs.Violations, field, id string) {
	if len(id) > MaxTextLength {
		v.Add(field, "must be at most %d bytes", MaxTextLength)
	}
}

func checkName(v *errs.Violations, field, name string) {
	if strings.TrimSpace(name) == "" || len(name) > MaxTextLength {
		v.Add(field, "must be 1 to %d bytes", MaxTextLength)
	}
}

// checkEmail records a violation unless email is empty or a plain address.
func checkEmail(v *errs.Violations, field, email string) {
	if email == "" {
		return
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > MaxTextLength {
		v.Add(field, "must be a plain e-mail address such as billing@example.com")
	}
}

func checkCurrency(v *errs.Violations, field, code string) {
	if _, ok := money.LookupCurrency(code); !ok {
		v.Add(field, "must be an ISO 4217 code such as EUR")
	}
}

// checkID records a violation if an id or key is too long to name anything.
func checkID(v *errs.Violations, field, id string) {
	if len(id) > MaxIDLength {
		v.Add(field, "must be at most %d bytes", MaxIDLength)
	}
}

// checkPlan checks a plan reference: an id or key, and a version (0 for
// the latest published).
func checkPlan(v *errs.Violations, plan string, version int32) {
	if plan == "" {
		v.Add("plan_id", "is required")
	}
	checkID(v, "plan_id", plan)
	if version < 0 {
		v.Add("plan_version", "must not be negative")
	}
}

// SubscribeInput subscribes a customer to a plan.
type SubscribeInput struct {
	CustomerID     string
	Plan           string // id or key
	Version        int32  // 0 for the latest published
	Quantity       int64  // 0 for the minimum
	Start          time.Time
	BackdateReason string
	TrialDays      int32
	BillSeparately bool
}

// Validate checks the input at now; a zero Start means now.
func (in SubscribeInput) Validate(now time.Time) error {
	var v errs.Violations
	checkPlan(&v, in.Plan, in.Version)
	if in.Quantity < 0 || in.Quantity > MaxQuantity {
		v.Add("quantity", "must be 0 (the plan's minimum) to %d", MaxQuantity)
	}
	if in.TrialDays < 0 || in.TrialDays > MaxTrialDays {
		v.Add("trial_days", "must be 0 to %d", MaxTrialDays)
	}
	start := in.Start
	if start.IsZero() {
		start = now
	}
	checkTime(&v, "start_time", start)
	checkBackdate(&v, "start_time", start, now, in.BackdateReason)
	return v.Err()
}

// checkTime records a violation unless t is inside the range every period
// computation handles; the server refuses other times at the edge too.
func checkTime(v *errs.Violations, field string, t time.Time) {
	if t.Before(MinTime) || !t.Before(MaxTime) {
		v.Add(field, "must be from %s up to (excluding) %s", MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
}

func checkBackdate(v *errs.Violations, field string, at, now time.Time, reason string) {
	if at.Before(now.Add(-BackdateTolerance)) && strings.TrimSpace(reason) == "" {
		v.Add("backdate_reason", "is required when %s is in the past", field)
	}
	if len(reason) > MaxReasonLength {
		v.Add("backdate_reason", "must be at most %d bytes", MaxReasonLength)
	}
}

// Timing says when a change takes effect.
type Timing int

// The timings. TimingDefault picks Immediate for upgrades and increases,
// EndOfPeriod for downgrades, decreases and cancellations.
const (
	TimingDefault Timing = iota
	Immediate
	EndOfPeriod
	At
)

// When says when a change takes effect.
type When struct {
	Timing Timing
	// At is the time for the At timing.
	At             time.Time
	BackdateReason string
}

// validate records the violations of w at now.
func (w When) validate(v *errs.Violations, now time.Time) {
	switch w.Timing {
	case At:
		if w.At.IsZero() {
			v.Add("effective_time", "is required when timing is AT")
			break
		}
		checkTime(v, "effective_time", w.At)
		checkBackdate(v, "effective_time", w.At, now, w.BackdateReason)
	case TimingDefault, Immediate, EndOfPeriod:
		if !w.At.IsZero() {
			v.Add("effective_time", "must be unset unless timing is AT")
		}
		if len(w.BackdateReason) > MaxReasonLength {
			v.Add("backdate_reason", "must be at most %d bytes", MaxReasonLength)
		}
	default:
		v.Add("timing", "is not a known timing")
	}
}

// Validate checks when a change of any kind takes effect.
func (w When) Validate(now time.Time) error {
	var v errs.Violations
	w.validate(&v, now)
	return v.Err()
}

// ChangePlanInput moves a subscription to another plan version.
type ChangePlanInput struct {
	SubscriptionID string
	Plan           string
	Version        int32
	When           When
}

// Validate checks the input at now.
func (in ChangePlanInput) Validate(now time.Time) error {
	var v errs.Violations
	checkPlan(&v, in.Plan, in.Version)
	in.When.validate(&v, now)
	return v.Err()
}

// ChangeQuantityInput changes a subscription's quantity.
type ChangeQuantityInput struct {
	SubscriptionID string
	Quantity       int64
	When           When
}

// Validate checks the input at now.
func (in ChangeQuantityInput) Validate(now time.Time) error {
	var v errs.Violations
	if in.Quantity < 1 || in.Quantity > MaxQuantity {
		v.Add("quantity", "must be 1 to %d", MaxQuantity)
	}
	in.When.validate(&v, now)
	return v.Err()
}

// shortID returns id for a message: ids a client sends may be huge, and a
// message echoes at most the first 64 bytes of one.
func shortID(id string) string {
	const max = 64
	if len(id) <= max {
		return id
	}
	cut := max
	for cut > 0 && !utf8RuneStart(id[cut]) {
		cut--
	}
	return id[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
