package quota

import (
	"fmt"
	"strings"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
)

// Bounds of the inputs.
const (
	MaxItems   = 100
	DefaultTTL = 15 * time.Minute
	MinTTL     = time.Second
	MaxTTL     = 24 * time.Hour
	maxID      = 128
	maxSubject = 256
)

// ItemInput is an item as the caller sent it.
type ItemInput struct {
	Feature  string
	Quantity string
}

// CheckInput asks whether items would be admitted.
type CheckInput struct {
	CustomerID string
	Items      []ItemInput
}

// ReserveInput asks to hold items.
type ReserveInput struct {
	CustomerID string
	Items      []ItemInput
	// TTL is how long the hold lasts; 0 means DefaultTTL.
	TTL time.Duration
	// Key, if set, makes the call retryable.
	Key string
}

// CommitInput turns a reservation into allocations of subjects: one
// subject for every item, or one subject per item, in order.
type CommitInput struct {
	ReservationID string
	Subjects      []string
}

func checkID(v *errs.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "required")
	case len(id) > maxID:
		v.Add(field, "at most %d bytes", maxID)
	}
}

// checkCustomer checks a customer id: an id, without braces, which
// would change the Redis hash tag of the customer's keys.
func checkCustomer(v *errs.Violations, id string) {
	checkID(v, "customer_id", id)
	if strings.ContainsAny(id, "{}") {
		v.Add("customer_id", "must not contain braces")
	}
}

// parseItems validates items and returns them in units.
func parseItems(v *errs.Violations, in []ItemInput) []Item {
	switch {
	case len(in) == 0:
		v.Add("items", "at least one item is required")
		return nil
	case len(in) > MaxItems:
		v.Add("items", "at most %d items", MaxItems)
		return nil
	}
	out := make([]Item, len(in))
	seen := make(map[string]bool, len(in))
	for i, it := range in {
		f := fmt.Sprintf("items[%d]", i)
		checkID(v, f+".feature_key", it.Feature)
		if seen[it.Feature] {
			v.Add(f+".feature_key", "each feature at most once")
		}
		seen[it.Feature] = true
		q, err := parseQuantity(it.Quantity)
		if err != nil {
			v.Add(f+".quantity", "%s", err)
		}
		out[i] = Item{Feature: it.Feature, Quantity: q}
	}
	return out
}

// parseQuantity reads a positive decimal with at most three fraction
// digits, at most MaxQuantity.
func parseQuantity(s string) (Units, error) {
	d, err := money.Parse(s)
	if err != nil {
		return 0, err
	}
	switch {
	case !d.IsPositive():
		return 0, fmt.Errorf("must be positive")
	case d.Exponent() < -3 && !d.Equal(d.Truncate(3)):
		return 0, fmt.Errorf("at most 3 fraction digits")
	case d.GreaterThan(MaxQuantity.Decimal()):
		return 0, fmt.Errorf("at most %s", MaxQuantity)
	}
	return Units(d.Shift(3).IntPart()), nil
}

// Validate checks the input and returns its items in units.
func (in CheckInput) Validate() ([]Item, error) {
	var v errs.Violations
	checkCustomer(&v, in.CustomerID)
	items := parseItems(&v, in.Items)
	return items, v.Err()
}

// Validate checks the input and returns its items in units and its TTL.
func (in ReserveInput) Validate() ([]Item, time.Duration, error) {
	var v errs.Violations
	checkCustomer(&v, in.CustomerID)
	items := parseItems(&v, in.Items)
	ttl := in.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		v.Add("ttl", "between %s and %s", MinTTL, MaxTTL)
	}
	if len(in.Key) > maxID {
		v.Add("idempotency_key", "at most %d bytes", maxID)
	}
	return items, ttl, v.Err()
}

// Validate checks the input.
func (in CommitInput) Validate() error {
	var v errs.Violations
	checkID(&v, "reservation_id", in.ReservationID)
	switch {
	case len(in.Subjects) == 0:
		v.Add("subjects", "at least one subject is required")
	case len(in.Subjects) > MaxItems:
		v.Add("subjects", "at most %d subjects", MaxItems)
	}
	for i, s := range in.Subjects {
		checkSubject(&v, fmt.Sprintf("subjects[%d]", i), s)
	}
	return v.Err()
}

// checkSubject checks a subject: a name, at most maxSubject bytes.
func checkSubject(v *errs.Violations, field, s string) {
	switch {
	case s == "":
		v.Add(field, "required")
	case len(s) > maxSubject:
		v.Add(field, "at most %d bytes", maxSubject)
	}
}

// subjectsOf returns the subject of each of the reservation's items: the
// one subject given for all, or one per item. Any other count is an
// InvalidArgument on subjects.
func subjectsOf(r Reservation, subjects []string) ([]string, error) {
	switch len(subjects) {
	case len(r.Items):
		return subjects, nil
	case 1:
		out := make([]string, len(r.Items))
		for i := range out {
			out[i] = subjects[0]
		}
		return out, nil
	}
	return nil, errs.Field("subjects", "give one subject for all %d items of the reservation, or one per item; got %d",
		len(r.Items), len(subjects))
}

// validateReservationID checks a reservation id argument.
func validateReservationID(id string) error {
	var v errs.Violations
	checkID(&v, "reservation_id", id)
	return v.Err()
}

// validateCustomerID checks a customer id argument.
func validateCustomerID(id string) error {
	var v errs.Violations
	checkCustomer(&v, id)
	return v.Err()
}
