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
	"encoding/json"
	"encoding/xml"
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

// maxSize is the largest document Decode reads.
const maxSize = 64 << 20

// Report is a set of usage events for a period, from one source or for one customer.
type Report struct {
	Source     string    // the collector that reported; empty when the report is a customer's usage
	CustomerID string    // the customer; empty when the report is a source's usage of many customers
	Start, End time.Time // the period [Start, End), UTC
	Events     []Event
}

// Event is one usage event as reports carry it.
type Event struct {
	CustomerID     string
	Meter          string    // meter key
	Quantity       string    // decimal string as the service wrote it, e.g. "12.5"; Decode only checks the syntax: optional '-', digits, optional '.' and digits; no exponent, no '+', no spaces
	Time           time.Time // UTC
	IdempotencyKey string
	Subject        string            // optional
	Delta          bool              // for gauges: Quantity is a change of the subject's level, not the new level
	Source         string            // optional
	Properties     map[string]string // optional
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
	var err error
	switch f {
	case JSON:
		err = encodeJSON(&b, r, events)
	case XML:
		encodeXML(&b, r, events)
	default:
		err = fmt.Errorf("unknown format %d", f)
	}
	if err != nil {
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
	if len(data) > maxSize {
		return Report{}, fmt.Errorf("larger than %d MiB", maxSize>>20)
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
	if err := cmp.Or(
		checkText("source", r.Source, MaxText, false),
		checkText("customerId", r.CustomerID, MaxText, false),
		checkTime("period.start", r.Start),
		checkTime("period.end", r.End),
	); err != nil {
		return err
	}
	if !r.Start.Before(r.End) {
		return errors.New("period: start must be before end")
	}
	if len(r.Events) > MaxEvents {
		return fmt.Errorf("events: more than %d", MaxEvents)
	}
	for i, e := range r.Events {
		p := fmt.Sprintf("events[%d]", i)
		if err := cmp.Or(
			checkText(p+".customerId", e.CustomerID, MaxText, true),
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

// The JSON form, for encoding; encoding/json writes the fields in this
// order and map keys sorted.
type (
	jsonReport struct {
		Version    string      `json:"version"`
		Source     string      `json:"source,omitempty"`
		CustomerID string      `json:"customerId,omitempty"`
		Period     jsonPeriod  `json:"period"`
		Events     []jsonEvent `json:"events"`
	}
	jsonPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	jsonEvent struct {
		CustomerID     string            `json:"customerId"`
		Meter          string            `json:"meter"`
		Quantity       string            `json:"quantity"`
		Time           string            `json:"time"`
		IdempotencyKey string            `json:"idempotencyKey"`
		Subject        string            `json:"subject,omitempty"`
		Delta          bool              `json:"delta,omitempty"`
		Source         string            `json:"source,omitempty"`
		Properties     map[string]string `json:"properties,omitempty"`
	}
)

// encodeJSON writes a valid report with sorted events as JSON.
func encodeJSON(b *bytes.Buffer, r Report, events []Event) error {
	out := jsonReport{
		Version: Version, Source: r.Source, CustomerID: r.CustomerID,
		Period: jsonPeriod{Start: formatTime(r.Start), End: formatTime(r.End)},
		Events: make([]jsonEvent, len(events)),
	}
	for i, e := range events {
		out.Events[i] = jsonEvent{
			CustomerID: e.CustomerID, Meter: e.Meter, Quantity: e.Quantity, Time: formatTime(e.Time),
			IdempotencyKey: e.IdempotencyKey, Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: e.Properties,
		}
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// decodeJSON reads a report from JSON, leaving validate to check the values.
// It reads token by token rather than into structs, to refuse what
// encoding/json lets through: fields in the wrong case, repeated fields and
// nulls.
func decodeJSON(data []byte) (Report, error) {
	d := jsonDecoder{json.NewDecoder(bytes.NewReader(data))}
	d.UseNumber() // so that a number where a string belongs is a type error, not an overflow
	var r Report
	var version, start, end string
	hasPeriod, hasEvents := false, false
	err := d.object("", func(key string) (err error) {
		switch key {
		case "version":
			version, err = d.str(key)
		case "source":
			r.Source, err = d.str(key)
		case "customerId":
			r.CustomerID, err = d.str(key)
		case "period":
			hasPeriod = true
			err = d.object(key, func(key string) (err error) {
				switch key {
				case "start":
					start, err = d.str("period.start")
				case "end":
					end, err = d.str("period.end")
				default:
					err = at("period", "unknown field %.64q", key)
				}
				return err
			})
		case "events":
			hasEvents = true
			err = d.array(key, func(i int) error {
				if i >= MaxEvents {
					return fmt.Errorf("events: more than %d", MaxEvents)
				}
				e, err := d.event(fmt.Sprintf("events[%d]", i))
				r.Events = append(r.Events, e)
				return err
			})
		default:
			err = at("", "unknown field %.64q", key)
		}
		return err
	})
	if err != nil {
		return Report{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return Report{}, errors.New("trailing data after the report")
	}
	switch {
	case version == "":
		return Report{}, errors.New("version: required")
	case version != Version:
		return Report{}, fmt.Errorf("version: %.64q is not %q", version, Version)
	case !hasPeriod:
		return Report{}, errors.New("period: required")
	case !hasEvents:
		return Report{}, errors.New("events: required")
	}
	if r.Start, err = parseTime("period.start", start); err != nil {
		return Report{}, err
	}
	if r.End, err = parseTime("period.end", end); err != nil {
		return Report{}, err
	}
	return r, nil
}

// jsonDecoder reads JSON values of known shape token by token.
type jsonDecoder struct{ *json.Decoder }

// token reads the next token, saying where syntax errors are.
func (d jsonDecoder) token() (json.Token, error) {
	t, err := d.Token()
	var syntax *json.SyntaxError
	switch {
	case err == io.EOF:
		return nil, errors.New("unexpected end of the document")
	case errors.As(err, &syntax):
		return nil, fmt.Errorf("at byte %d: %v", syntax.Offset, err)
	}
	return t, err
}

// object reads an object at path, calling field with each key to read the
// key's value. It refuses repeated keys.
func (d jsonDecoder) object(path string, field func(key string) error) error {
	if t, err := d.token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return at(path, "must be an object")
	}
	seen := make(map[string]bool)
	for d.More() {
		t, err := d.token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return at(path, "bad object key")
		}
		if seen[key] {
			return at(path, "repeated field %.64q", key)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return err
		}
	}
	_, err := d.token() // the closing brace, which More has seen
	return err
}

// array reads an array at path, calling elem to read each element.
func (d jsonDecoder) array(path string, elem func(i int) error) error {
	if t, err := d.token(); err != nil {
		return err
	} else if t != json.Delim('[') {
		return at(path, "must be an array")
	}
	for i := 0; d.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	_, err := d.token()
	return err
}

// str reads a string at path.
func (d jsonDecoder) str(path string) (string, error) {
	t, err := d.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", at(path, "must be a string")
	}
	return s, nil
}

// boolean reads true or false at path.
func (d jsonDecoder) boolean(path string) (bool, error) {
	t, err := d.token()
	if err != nil {
		return false, err
	}
	v, ok := t.(bool)
	if !ok {
		return false, at(path, "must be true or false")
	}
	return v, nil
}

// event reads an event at path.
func (d jsonDecoder) event(path string) (Event, error) {
	var e Event
	var tm string
	err := d.object(path, func(key string) (err error) {
		p := path + "." + key
		switch key {
		case "customerId":
			e.CustomerID, err = d.str(p)
		case "meter":
			e.Meter, err = d.str(p)
		case "quantity":
			e.Quantity, err = d.str(p)
		case "time":
			tm, err = d.str(p)
		case "idempotencyKey":
			e.IdempotencyKey, err = d.str(p)
		case "subject":
			e.Subject, err = d.str(p)
		case "delta":
			e.Delta, err = d.boolean(p)
		case "source":
			e.Source, err = d.str(p)
		case "properties":
			err = d.object(p, func(key string) error {
				if len(e.Properties) == MaxProperties {
					return at(p, "more than %d", MaxProperties)
				}
				v, err := d.str(fmt.Sprintf("%s[%.64q]", p, key))
				if e.Properties == nil {
					e.Properties = make(map[string]string)
				}
				e.Properties[key] = v
				return err
			})
		default:
			err = at(path, "unknown field %.64q", key)
		}
		return err
	})
	if err != nil {
		return Event{}, err
	}
	e.Time, err = parseTime(path+".time", tm)
	return e, err
}

// encodeXML writes a valid report with sorted events as XML.
func encodeXML(b *bytes.Buffer, r Report, events []Event) {
	attr := func(name, value string) {
		if value != "" {
			b.WriteString(" " + name + `="`)
			xml.EscapeText(b, []byte(value)) // A bytes.Buffer does not fail.
			b.WriteString(`"`)
		}
	}
	b.WriteString(xml.Header)
	b.WriteString("<usageReport")
	attr("version", Version)
	attr("source", r.Source)
	attr("customerId", r.CustomerID)
	b.WriteString(">\n  <period")
	attr("start", formatTime(r.Start))
	attr("end", formatTime(r.End))
	b.WriteString("/>\n")
	for _, e := range events {
		b.WriteString("  <event")
		attr("customerId", e.CustomerID)
		attr("meter", e.Meter)
		attr("quantity", e.Quantity)
		attr("time", formatTime(e.Time))
		attr("idempotencyKey", e.IdempotencyKey)
		attr("subject", e.Subject)
		if e.Delta {
			attr("delta", "true")
		}
		attr("source", e.Source)
		if len(e.Properties) == 0 {
			b.WriteString("/>\n")
			continue
		}
		b.WriteString(">\n")
		for _, k := range slices.Sorted(maps.Keys(e.Properties)) {
			b.WriteString("    <property")
			attr("key", k)
			b.WriteString(">")
			xml.EscapeText(b, []byte(e.Properties[k]))
			b.WriteString("</property>\n")
		}
		b.WriteString("  </event>\n")
	}
	b.WriteString("</usageReport>\n")
}

// decodeXML reads a report from XML, leaving validate to check the values.
// Around the report element it allows only a byte order mark, the XML
// declaration, comments and whitespace.
func decodeXML(data []byte) (Report, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	d := xmlDecoder{xml.NewDecoder(bytes.NewReader(data)), data}
	var r Report
	found := false
	for first := true; ; first = false {
		t, err := d.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Report{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if found {
				return Report{}, errors.New("trailing data after the report")
			}
			found = true
			if r, err = decodeXMLReport(d, t); err != nil {
				return Report{}, err
			}
		case xml.CharData:
			if strings.Trim(string(t), " \t\r\n") != "" {
				return Report{}, errors.New("text outside the report element")
			}
		case xml.ProcInst:
			if !first || t.Target != "xml" {
				return Report{}, errors.New("processing instructions are not allowed")
			}
			if !xmlDeclaration.Match(t.Inst) {
				return Report{}, errors.New("malformed XML declaration")
			}
		case xml.Directive:
			return Report{}, errors.New("DOCTYPE and other directives are not allowed")
		}
	}
	if !found {
		return Report{}, errors.New("no usageReport element")
	}
	return r, nil
}

// decodeXMLReport reads the usageReport element that start opens.
func decodeXMLReport(d xmlDecoder, start xml.StartElement) (Report, error) {
	if start.Name != (xml.Name{Local: "usageReport"}) {
		return Report{}, fmt.Errorf("the root element is <%s>, not <usageReport>", xmlName(start.Name))
	}
	var r Report
	var version string
	if err := attrs("", start, map[string]*string{"version": &version, "source": &r.Source, "customerId": &r.CustomerID}); err != nil {
		return Report{}, err
	}
	switch {
	case version == "":
		return Report{}, errors.New("version: required")
	case version != Version:
		return Report{}, fmt.Errorf("version: %.64q is not %q", version, Version)
	}
	hasPeriod := false
	err := content(d, "", func(start xml.StartElement) error {
		switch start.Name {
		case xml.Name{Local: "period"}:
			if hasPeriod {
				return errors.New("period: repeated")
			}
			hasPeriod = true
			var s, e string
			if err := attrs("period", start, map[string]*string{"start": &s, "end": &e}); err != nil {
				return err
			}
			var text strings.Builder
			if err := content(d, "period", nil, &text); err != nil {
				return err
			}
			if text.Len() > 0 {
				return errors.New("period: must be empty")
			}
			var err error
			if r.Start, err = parseTime("period.start", s); err != nil {
				return err
			}
			r.End, err = parseTime("period.end", e)
			return err
		case xml.Name{Local: "event"}:
			i := len(r.Events)
			switch {
			case !hasPeriod:
				return errors.New("period: must come first")
			case i == MaxEvents:
				return fmt.Errorf("events: more than %d", MaxEvents)
			}
			e, err := decodeXMLEvent(d, fmt.Sprintf("events[%d]", i), start)
			r.Events = append(r.Events, e)
			return err
		}
		return fmt.Errorf("unknown element <%s>", xmlName(start.Name))
	}, nil)
	if err != nil {
		return Report{}, err
	}
	if !hasPeriod {
		return Report{}, errors.New("period: required")
	}
	return r, nil
}

// decodeXMLEvent reads the event element at path that start opens.
func decodeXMLEvent(d xmlDecoder, path string, start xml.StartElement) (Event, error) {
	var e Event
	var tm string
	delta := "false" // when absent
	if err := attrs(path, start, map[string]*string{
		"customerId": &e.CustomerID, "meter": &e.Meter, "quantity": &e.Quantity, "time": &tm,
		"idempotencyKey": &e.IdempotencyKey, "subject": &e.Subject, "delta": &delta, "source": &e.Source,
	}); err != nil {
		return Event{}, err
	}
	err := content(d, path, func(start xml.StartElement) error {
		if start.Name != (xml.Name{Local: "property"}) {
			return at(path, "unknown element <%s>", xmlName(start.Name))
		}
		p := fmt.Sprintf("%s.properties[%d]", path, len(e.Properties))
		if len(e.Properties) == MaxProperties {
			return fmt.Errorf("%s.properties: more than %d", path, MaxProperties)
		}
		var key string
		if err := attrs(p, start, map[string]*string{"key": &key}); err != nil {
			return err
		}
		if _, ok := e.Properties[key]; ok {
			return fmt.Errorf("%s.properties: repeated key %.64q", path, key)
		}
		var value strings.Builder
		if err := content(d, p, nil, &value); err != nil {
			return err
		}
		if e.Properties == nil {
			e.Properties = make(map[string]string)
		}
		e.Properties[key] = value.String()
		return nil
	}, nil)
	if err != nil {
		return Event{}, err
	}
	if delta != "true" && delta != "false" {
		return Event{}, fmt.Errorf("%s.delta: must be true or false", path)
	}
	e.Delta = delta == "true"
	e.Time, err = parseTime(path+".time", tm)
	return e, err
}

// attrs sets the fields to the element's attributes of the same names,
// refusing any others but namespace declarations and schema locations.
func attrs(path string, start xml.StartElement, fields map[string]*string) error {
	seen := make(map[string]bool)
	for _, a := range start.Attr {
		f, ok := fields[a.Name.Local]
		switch {
		case a.Name.Space == "xmlns" || a.Name == xml.Name{Local: "xmlns"} ||
			a.Name.Space == xsi && (a.Name.Local == "schemaLocation" || a.Name.Local == "noNamespaceSchemaLocation"):
			continue
		case !ok || a.Name.Space != "":
			return at(path, "unknown attribute %.64q", xmlName(a.Name))
		case seen[a.Name.Local]:
			return at(path, "repeated attribute %q", a.Name.Local)
		}
		seen[a.Name.Local] = true
		*f = a.Value
	}
	return nil
}

// content reads an element's content up to its end tag, skipping comments.
// It passes start tags to child, or refuses them if child is nil, and
// appends character data to text; if text is nil, it allows only
// whitespace.
func content(d xmlDecoder, path string, child func(xml.StartElement) error, text *strings.Builder) error {
	for {
		t, err := d.token()
		if err == io.EOF {
			return errors.New("unexpected end of the document")
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if child == nil {
				return at(path, "unknown element <%s>", xmlName(t.Name))
			}
			if err := child(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		case xml.CharData:
			if text != nil {
				text.Write(t)
			} else if strings.Trim(string(t), " \t\r\n") != "" {
				return at(path, "text is not allowed here")
			}
		case xml.ProcInst:
			return errors.New("processing instructions are not allowed")
		case xml.Directive:
			return errors.New("DOCTYPE and other directives are not allowed")
		}
	}
}

// xsi is the namespace of the attributes that tell where schemas are.
const xsi = "http://www.w3.org/2001/XMLSchema-instance"

// xmlDeclaration is the syntax of the XML declaration's content.
var xmlDeclaration = regexp.MustCompile(`^version[ \t\r\n]*=[ \t\r\n]*("1\.0"|'1\.0')` +
	`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("(?i:utf-8)"|'(?i:utf-8)'))?` +
	`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*$`)

// xmlDecoder reads XML tokens from data, checking what encoding/xml does
// not: that attributes are separated by whitespace.
type xmlDecoder struct {
	*xml.Decoder
	data []byte
}

// token reads the next token.
func (d xmlDecoder) token() (xml.Token, error) {
	from := d.InputOffset()
	t, err := d.Token()
	if start, ok := t.(xml.StartElement); ok {
		tag := d.data[from:d.InputOffset()]
		for i := 0; i < len(tag); i++ {
			if q := tag[i]; q == '"' || q == '\'' {
				i += 1 + bytes.IndexByte(tag[i+1:], q) // to the closing quote, which encoding/xml has checked
				if next := tag[i+1]; next != ' ' && next != '\t' && next != '\r' && next != '\n' && next != '/' && next != '>' {
					return nil, fmt.Errorf("<%s>: no whitespace between attributes", xmlName(start.Name))
				}
			}
		}
	}
	return t, err
}

// xmlName writes a name for a message.
func xmlName(n xml.Name) string {
	if n.Space != "" {
		return fmt.Sprintf("%.64s:%.64s", n.Space, n.Local)
	}
	return fmt.Sprintf("%.64s", n.Local)
}
