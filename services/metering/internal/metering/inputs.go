package metering

import (
	"fmt"
	"regexp"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/textcheck"
	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// Limits of ingestion.
const (
	MaxBatch        = 10_000
	MaxFuture       = 5 * time.Minute
	MaxText         = 255
	MaxProperties   = 32
	MaxPropertyText = 1024
)

// EventInput is one event as a collector sends it.
type EventInput struct {
	CustomerID string
	Meter      string
	Quantity   string
	Time       time.Time
	Key        string
	Subject    string
	Delta      bool
	Source     string
	Properties map[string]string
}

// MaxQuantity bounds an event quantity: its magnitude is below 10^15. With
// at most 18 fraction digits, an event fits the events table's
// NUMERIC(38, 18), and the sums kept of any number of events (hourly and
// daily totals, gauge levels, time-weighted integrals) are unbounded NUMERIC
// on PostgreSQL and arbitrary-precision decimals in Go, so no accepted
// event can make a later sum overflow.
var MaxQuantity = decimal.New(1, 15)

// ParseQuantity reads an event quantity: a plain decimal string (no
// exponent) with at most 18 fraction digits and a magnitude below
// MaxQuantity.
func ParseQuantity(s string) (money.Decimal, error) {
	q, err := money.Parse(s)
	if err != nil {
		return money.Decimal{}, err
	}
	if q.Abs().GreaterThanOrEqual(MaxQuantity) {
		return money.Decimal{}, fmt.Errorf("%q must be greater than -10^15 and less than 10^15", s)
	}
	return q, nil
}

// Validate checks what an event says on its own, before the meters,
// customers and clock are asked: required fields, lengths, the quantity's
// syntax and range, the time's range, and that every string is valid UTF-8
// without NUL (the server's request check skips batch items: each item's
// fault is answered in its result). It returns the parsed quantity, or the
// reason, field (named by field) and message of the first fault.
func (e EventInput) Validate(field func(string) string) (money.Decimal, Reason, string, string) {
	for _, t := range []struct {
		name, v  string
		required bool
	}{{"customer_id", e.CustomerID, true}, {"meter_key", e.Meter, true}, {"idempotency_key", e.Key, true},
		{"subject", e.Subject, false}, {"source", e.Source, false}} {
		switch {
		case t.required && t.v == "":
			return money.Decimal{}, Invalid, field(t.name), "is required"
		case len(t.v) > MaxText:
			return money.Decimal{}, Invalid, field(t.name), fmt.Sprintf("must be at most %d bytes", MaxText)
		}
		if msg := checkText(t.v); msg != "" {
			return money.Decimal{}, Invalid, field(t.name), msg
		}
	}
	if e.Quantity == "" {
		return money.Decimal{}, Invalid, field("quantity"), "is required"
	}
	q, err := ParseQuantity(e.Quantity)
	if err != nil {
		return money.Decimal{}, InvalidQuantity, field("quantity"), err.Error()
	}
	switch {
	case e.Time.IsZero():
		return money.Decimal{}, Invalid, field("time"), "is required"
	case e.Time.Before(textcheck.MinTime) || !e.Time.Before(textcheck.MaxTime):
		return money.Decimal{}, Invalid, field("time"), fmt.Sprintf("is out of range: must be from %s up to (excluding) %s",
			textcheck.MinTime.Format(time.RFC3339), textcheck.MaxTime.Format(time.RFC3339))
	}
	if len(e.Properties) > MaxProperties {
		return money.Decimal{}, PropertiesTooLarge, field("properties"), fmt.Sprintf("must be at most %d", MaxProperties)
	}
	for k, v := range e.Properties {
		if k == "" || len(k) > MaxText || len(v) > MaxPropertyText {
			return money.Decimal{}, PropertiesTooLarge, field("properties"), fmt.Sprintf("keys must be 1 to %d bytes and values at most %d", MaxText, MaxPropertyText)
		}
		if msg := checkText(k); msg != "" {
			return money.Decimal{}, Invalid, field("properties"), "keys " + msg
		}
		if msg := checkText(v); msg != "" {
			return money.Decimal{}, Invalid, field("properties"), "values " + msg
		}
	}
	return q, 0, "", ""
}

// ExportInput asks for the usage report of a customer, or of a source, in
// a period.
type ExportInput struct {
	CustomerID string
	Source     string
	Period     Period
	Format     report.Format
}

// Validate checks the input.
func (in ExportInput) Validate() error {
	if (in.CustomerID == "") == (in.Source == "") {
		return errs.Field("customer_id", "exactly one of customer_id and source must be set")
	}
	if in.Format != report.JSON && in.Format != report.XML {
		return errs.Field("format", "must be JSON or XML")
	}
	return checkPeriod("period", in.Period)
}

// checkText returns what is wrong with a string of an event, or "": it must
// be valid UTF-8 without NUL (textcheck.String), and, so that every stored
// event can be exported in either report format, text XML 1.0 can carry
// (no other control characters, no U+FFFE or U+FFFF).
func checkText(s string) string {
	if msg := textcheck.String(s); msg != "" {
		return msg
	}
	for _, c := range s {
		if !(c == '\t' || c == '\n' || c == '\r' || 0x20 <= c && c <= 0xD7FF || 0xE000 <= c && c <= 0xFFFD || 0x10000 <= c) {
			return fmt.Sprintf("must not contain the character %U, which usage reports cannot carry", c)
		}
	}
	return ""
}

// QueryInput asks for a customer's usage of a meter (or of a feature's
// meter) in a period.
type QueryInput struct {
	CustomerID     string
	Meter          string
	Feature        string
	Period         Period
	Window         Window // 0 means WindowNone
	GroupBySubject bool
}

// Validate checks the query: a customer, exactly one of meter and
// feature, a known window (0 is WindowNone) and a period of whole hours.
func (in QueryInput) Validate() error {
	var v errs.Violations
	if in.CustomerID == "" {
		v.Add("customer_id", "is required")
	}
	if (in.Meter == "") == (in.Feature == "") {
		v.Add("meter_key", "exactly one of meter_key and feature_key must be set")
	}
	if in.Window != 0 && (in.Window < WindowNone || in.Window > WindowMonth) {
		v.Add("window", "is not a known window")
	}
	if err := v.Err(); err != nil {
		return err
	}
	p := Period{Start: in.Period.Start.UTC(), End: in.Period.End.UTC()}
	if err := checkPeriod("period", p); err != nil {
		return err
	}
	if !p.Start.Equal(p.Start.Truncate(time.Hour)) || !p.End.Equal(p.End.Truncate(time.Hour)) {
		return errs.Field("period", "must start and end on whole hours (UTC)")
	}
	return nil
}

var meterKey = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,62}$`)

// Validate checks a meter to create: its key's syntax, a feature, an
// aggregation and a description of at most 1000 bytes, all text.
func (m Meter) Validate() error {
	var v errs.Violations
	if !meterKey.MatchString(m.Key) {
		v.Add("meter.key", "must be 1 to 63 lower-case letters, digits, '_', '.' or '-', starting with a letter")
	}
	if m.Feature == "" {
		v.Add("meter.feature_key", "is required")
	} else if len(m.Feature) > MaxText {
		v.Add("meter.feature_key", "must be at most %d bytes", MaxText)
	}
	if _, ok := aggregationNames[m.Aggregation]; !ok {
		v.Add("meter.aggregation", "is required")
	}
	if len(m.Description) > 1000 {
		v.Add("meter.description", "must be at most 1000 characters")
	}
	if m.FedByQuota && m.Aggregation != TimeWeighted {
		v.Add("meter.fed_by_quota", "is only for TIME_WEIGHTED meters: quota reports gauge levels")
	}
	return v.Err()
}

// MarkCompleteInput says a source sent all of a customer's usage of a
// period.
type MarkCompleteInput struct {
	Source     string
	CustomerID string
	Period     Period
}

// Validate checks the input.
func (in MarkCompleteInput) Validate() error {
	var v errs.Violations
	if in.Source == "" || len(in.Source) > MaxText {
		v.Add("source", "must be 1 to %d bytes", MaxText)
	}
	if in.CustomerID == "" {
		v.Add("customer_id", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return checkPeriod("period", in.Period)
}

// ClosePeriodInput closes a customer's usage before a time.
type ClosePeriodInput struct {
	CustomerID string
	Before     time.Time
}

// MaxClosings bounds the closings of one BatchClosePeriod call.
const MaxClosings = 500

// ClosePeriodInputs is the input of BatchClosePeriod.
type ClosePeriodInputs []ClosePeriodInput

// Validate checks the number of closings and each one's customer and time,
// naming the fields as closings[i].….
func (in ClosePeriodInputs) Validate() error {
	var v errs.Violations
	if len(in) == 0 || len(in) > MaxClosings {
		v.Add("closings", "must hold 1 to %d closings", MaxClosings)
	}
	for i, c := range in {
		if i >= MaxClosings {
			break
		}
		field := fmt.Sprintf("closings[%d]", i)
		checkClosing(&v, field+".", c)
	}
	return v.Err()
}

// checkClosing checks one closing: a customer id of valid text and at most
// maxCustomerIDLength bytes, and a time in textcheck's range.
func checkClosing(v *errs.Violations, prefix string, c ClosePeriodInput) {
	switch {
	case c.CustomerID == "":
		v.Add(prefix+"customer_id", "is required")
	case len(c.CustomerID) > maxCustomerIDLength:
		v.Add(prefix+"customer_id", "must be at most %d bytes", maxCustomerIDLength)
	default:
		if msg := textcheck.String(c.CustomerID); msg != "" {
			v.Add(prefix+"customer_id", "%s", msg)
		}
	}
	switch {
	case c.Before.IsZero():
		v.Add(prefix+"closed_before", "is required")
	case c.Before.Before(textcheck.MinTime) || !c.Before.Before(textcheck.MaxTime):
		v.Add(prefix+"closed_before", "must be from %s and before %s",
			textcheck.MinTime.Format(time.RFC3339), textcheck.MaxTime.Format(time.RFC3339))
	}
}

// Validate checks the input.
func (in ClosePeriodInput) Validate() error {
	var v errs.Violations
	if in.CustomerID == "" {
		v.Add("customer_id", "is required")
	}
	if in.Before.IsZero() {
		v.Add("closed_before", "is required")
	}
	return v.Err()
}
