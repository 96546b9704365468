// Package report reads and writes usage reports: the usage events of a
// period, from one source or for one customer, as a JSON or XML document.
//
// Encode writes the canonical form of a report, and Decode accepts what
// docs/usage-report.schema.json and docs/usage-report.xsd describe (their
// descriptions say what a schema cannot), so that importing an exported
// report and exporting it again gives the same bytes, in either format.
//
// The canonical form is:
//   - events sorted by time, customer, meter and idempotency key (then by
//     the other fields, so that the order is total), properties by key;
//   - times in UTC as RFC 3339 with as many fraction digits as needed
//     (time.RFC3339Nano);
//   - empty optional fields left out: the report's source and customerId,
//     an event's subject and source, delta when false, properties when
//     there are none; the events are always written, if need be as an
//     empty list;
//   - two spaces of indentation and a final newline; in XML, the fields are
//     attributes in the order of the JSON fields, and an event without
//     properties is an empty-element tag.
//
// Decode accepts present-but-empty optional fields, time zone offsets,
// redundant fraction digits, and in XML a byte order mark, comments, CDATA
// sections, namespace declarations and schema locations. It refuses unknown
// or repeated fields, JSON nulls, XML namespaces, doctypes and processing
// instructions other than the XML declaration, and any text that XML 1.0
// cannot carry, so that every report converts between the two formats.
package report

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is a report's encoding.
type Format int

// The formats.
const (
	JSON Format = iota + 1 // the default
	XML
)

// ParseFormat reads a format's name: "json", "xml", or "" for JSON.
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "", "json":
		return JSON, true
	case "xml":
		return XML, true
	}
	return 0, false
}

// Version is the report format version written by Encode and required by Decode.
const Version = "1"

// Limits.
const (
	MaxEvents     = 100_000
	MaxProperties = 32   // per event
	MaxText       = 255  // bytes of any id, key, meter, subject, source, property key, and of a quantity
	MaxValue      = 1024 // bytes of a property value
)

// MaxSize is the largest document Decode reads.
const MaxSize = 64 << 20

// Report is a set of usage events for a period, from one source or for one customer.
type Report struct {
	Source     string // the collector that reported; empty when the report is a customer's usage
	CustomerID string // the customer; empty when the report is a source's usage of many customers
	// CustomerExternalID is the customer's id in the systems around
	// Meterplane, if it has one: another installation knows the customer
	// by it, not by CustomerID. Optional, only with CustomerID.
	CustomerExternalID string
	Start, End         time.Time // the period [Start, End), UTC
	Events             []Event
}

// Event is one usage event as reports carry it.
type Event struct {
	CustomerID string
	// CustomerExternalID is the customer's external id, if it has one
	// (optional): an importing installation that does not know CustomerID
	// finds the customer by it.
	CustomerExternalID string
	Meter              string    // meter key
	Quantity           string    // decimal string as the service wrote it, e.g. "12.5"; Decode only checks the syntax: optional '-', digits, optional '.' and digits; no exponent, no '+', no spaces
	Time               time.Time // UTC
	IdempotencyKey     string
	Subject            string            // optional
	Delta              bool              // for gauges: Quantity is a change of the subject's level, not the new level
	Source             string            // optional
	Properties         map[string]string // optional
}

// Encode writes r in format f, canonically: events sorted by (Time, CustomerID, Meter, IdempotencyKey), properties by key, times in UTC RFC 3339 with nanoseconds only as needed (time.RFC3339Nano), fixed indentation of two spaces, a final newline. Equal reports give equal bytes.
//
// Encode refuses, writing nothing, a report that Decode would refuse. It
// does not change r.
func Encode(w io.Writer, r Report, f Format) error {
	if err := validate(r); err != nil {
		return err
	}
	events := slices.Clone(r.Events)
	slices.SortFunc(events, compareEvents)
	var b bytes.Buffer
	rw, err := NewWriter(&b, r, f)
	if err != nil {
		return err
	}
	for _, e := range events {
		if err := rw.Write(e); err != nil {
			return err
		}
	}
	if err := rw.Close(); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// Decode reads a report in format f, strictly: unknown fields/elements are refused, the version must be Version, required fields must be present and non-empty (event customer, meter, quantity, time, idempotency key; report start and end with start < end), every event time must be inside [Start, End), limits apply, times must parse as RFC 3339 (converted to UTC). Errors say where: "events[3].quantity: not a decimal". It never panics.
//
// The events keep the document's order. Absent and empty optional fields
// both decode as the zero value; an event without properties has nil
// Properties.
func Decode(data []byte, f Format) (Report, error) {
	if len(data) > MaxSize {
		return Report{}, fmt.Errorf("larger than %d MiB", MaxSize>>20)
	}
	if !utf8.Valid(data) {
		return Report{}, errors.New("not valid UTF-8")
	}
	var r Report
	var err error
	switch f {
	case JSON:
		r, err = decodeJSON(data)
	case XML:
		r, err = decodeXML(data)
	default:
		return Report{}, fmt.Errorf("unknown format %d", f)
	}
	if err == nil {
		err = validate(r)
	}
	if err != nil {
		return Report{}, err
	}
	return r, nil
}

// compareEvents orders events canonically. After the time, customer, meter
// and idempotency key it compares the other fields, so that only equal
// events compare equal.
func compareEvents(a, b Event) int {
	if c := cmp.Or(
		a.Time.Compare(b.Time),
		strings.Compare(a.CustomerID, b.CustomerID),
		strings.Compare(a.Meter, b.Meter),
		strings.Compare(a.IdempotencyKey, b.IdempotencyKey),
		strings.Compare(a.Quantity, b.Quantity),
		strings.Compare(a.Subject, b.Subject),
		strings.Compare(a.Source, b.Source),
	); c != 0 {
		return c
	}
	if a.Delta != b.Delta {
		if a.Delta {
			return 1
		}
		return -1
	}
	ka, kb := slices.Sorted(maps.Keys(a.Properties)), slices.Sorted(maps.Keys(b.Properties))
	for i := range min(len(ka), len(kb)) {
		if c := cmp.Or(strings.Compare(ka[i], kb[i]), strings.Compare(a.Properties[ka[i]], b.Properties[kb[i]])); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ka), len(kb))
}

// formatTime writes t canonically.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// validate checks what both formats require of a report, in terms of the
// JSON field names.
func validate(r Report) error {
	if err := validateHeader(r); err != nil {
		return err
	}
	if len(r.Events) > MaxEvents {
		return fmt.Errorf("events: more than %d", MaxEvents)
	}
	for i, e := range r.Events {
		if err := validateEvent(fmt.Sprintf("events[%d]", i), e, r); err != nil {
			return err
		}
	}
	return nil
}

// validateHeader checks what a report says besides its events.
func validateHeader(r Report) error {
	if err := cmp.Or(
		checkText("source", r.Source, MaxText, false),
		checkText("customerId", r.CustomerID, MaxText, false),
		checkText("customerExternalId", r.CustomerExternalID, MaxText, false),
		checkTime("period.start", r.Start),
		checkTime("period.end", r.End),
	); err != nil {
		return err
	}
	if r.CustomerExternalID != "" && r.CustomerID == "" {
		return errors.New("customerExternalId: only with customerId")
	}
	if !r.Start.Before(r.End) {
		return errors.New("period: start must be before end")
	}
	return nil
}

// validateEvent checks the event at path p of report r.
func validateEvent(p string, e Event, r Report) error {
	if err := cmp.Or(
		checkText(p+".customerId", e.CustomerID, MaxText, true),
		checkText(p+".customerExternalId", e.CustomerExternalID, MaxText, false),
		checkText(p+".meter", e.Meter, MaxText, true),
		checkText(p+".quantity", e.Quantity, MaxText, true),
		checkTime(p+".time", e.Time),
		checkText(p+".idempotencyKey", e.IdempotencyKey, MaxText, true),
		checkText(p+".subject", e.Subject, MaxText, false),
		checkText(p+".source", e.Source, MaxText, false),
	); err != nil {
		return err
	}
	if !isDecimal(e.Quantity) {
		return fmt.Errorf("%s.quantity: not a decimal", p)
	}
	if e.Time.Before(r.Start) || !e.Time.Before(r.End) {
		return fmt.Errorf("%s.time: outside the period", p)
	}
	if len(e.Properties) > MaxProperties {
		return fmt.Errorf("%s.properties: more than %d", p, MaxProperties)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Properties)) {
		if err := checkText(p+".properties key", k, MaxText, true); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("%s.properties[%q]", p, k), e.Properties[k], MaxValue, false); err != nil {
			return err
		}
	}
	return nil
}

// checkText checks that s is at most max bytes of UTF-8 text that XML 1.0
// can carry, and not empty if required.
func checkText(path, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%s: required", path)
	case len(s) > max:
		return fmt.Errorf("%s: longer than %d bytes", path, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: not valid UTF-8", path)
	}
	for _, c := range s {
		if !xmlChar(c) {
			return fmt.Errorf("%s: has the character %U, which XML 1.0 cannot carry", path, c)
		}
	}
	return nil
}

// xmlChar reports whether XML 1.0 allows c in a document.
func xmlChar(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' ||
		0x20 <= c && c <= 0xD7FF || 0xE000 <= c && c <= 0xFFFD || 0x10000 <= c && c <= 0x10FFFF
}

// checkTime checks that t falls, in UTC, in the years RFC 3339 can write.
func checkTime(path string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%s: not in the years 0000 to 9999 in UTC", path)
	}
	return nil
}

// isDecimal reports whether s is an optional '-', digits, and optionally '.'
// and digits.
func isDecimal(s string) bool {
	whole, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	return digits(whole) && (!dot || digits(frac))
}

// rfc3339 is the syntax of the times Decode accepts; time.Parse then checks
// the day of the month. The schemas have the same pattern.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

// parseTime reads a required RFC 3339 time and converts it to UTC.
func parseTime(path, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%s: required", path)
	}
	if !rfc3339.MatchString(s) {
		return time.Time{}, fmt.Errorf("%s: not an RFC 3339 time", path)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: not an RFC 3339 time", path)
	}
	return t.UTC(), nil
}

// at prefixes a message with the path it is about, if any.
func at(path, format string, args ...any) error {
	if path != "" {
		format = path + ": " + format
	}
	return fmt.Errorf(format, args...)
}
