package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// date parses an RFC 3339 time, keeping its offset.
func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sourceReport is a collector's report of several customers' usage. Its
// events are out of order; one has a nanosecond time and one a time in
// another zone; two share a time and a customer and sort by meter.
func sourceReport() report.Report {
	return report.Report{
		Source: "collector-eu-1",
		Start:  date("2026-04-01T00:00:00Z"),
		End:    date("2026-05-01T00:00:00Z"),
		Events: []report.Event{
			{CustomerID: "cus_2", Meter: "sites", Quantity: "-1", Time: date("2026-04-03T08:30:00Z"), IdempotencyKey: "k4",
				Subject: "site-7", Delta: true, Source: "collector-eu-1"},
			{CustomerID: "cus_1", CustomerExternalID: "acme-eu", Meter: "bandwidth", Quantity: "12.5", Time: date("2026-04-01T10:00:00Z"), IdempotencyKey: "k1",
				Subject: "site-42", Source: "collector-eu-1",
				Properties: map[string]string{"region": "eu", "city": "Zürich", "note": "a <b> & \"c\" 'd'\n\tend", "empty": ""}},
			{CustomerID: "cus_1", Meter: "bandwidth", Quantity: "0.000001", Time: date("2026-04-01T10:00:00.123456789Z"), IdempotencyKey: "k2",
				Source: "collector-eu-1"},
			{CustomerID: "cus_1", Meter: "api_calls", Quantity: "3", Time: date("2026-04-01T10:00:00Z"), IdempotencyKey: "k3",
				Source: "collector-eu-1", Properties: map[string]string{}},
			{CustomerID: "cus_0", Meter: "sites", Quantity: "4", Time: date("2026-05-01T01:59:59.5+02:00"), IdempotencyKey: "k5",
				Subject: "site-1", Source: "collector-eu-1"},
		},
	}
}

// customerReport is one customer's usage from two sources and from an event
// without a source, with properties.
func customerReport() report.Report {
	return report.Report{
		CustomerID:         "cus_1",
		CustomerExternalID: "acme-eu",
		Start:              date("2026-04-01T00:00:00Z"),
		End:                date("2026-04-02T00:00:00Z"),
		Events: []report.Event{
			{CustomerID: "cus_1", CustomerExternalID: "acme-eu", Meter: "storage_gib", Quantity: "120.25", Time: date("2026-04-01T23:59:59.999999999Z"), IdempotencyKey: "s-9",
				Subject: "bucket-a", Source: "collector-us-2", Properties: map[string]string{"tier": "cold"}},
			{CustomerID: "cus_1", Meter: "bandwidth", Quantity: "7", Time: date("2026-04-01T00:00:00Z"), IdempotencyKey: "b-1",
				Source: "collector-eu-1", Properties: map[string]string{"region": "eu", "pop": "fra"}},
			{CustomerID: "cus_1", Meter: "sites", Quantity: "1", Time: date("2026-04-01T12:00:00Z"), IdempotencyKey: "manual-1",
				Subject: "site-42", Delta: true},
		},
	}
}

// goldens are the reports that have golden files, per format.
var goldens = []struct {
	name   string
	file   string
	report func() report.Report
	format report.Format
}{
	{"a source's report in JSON", "report.json", sourceReport, report.JSON},
	{"a source's report in XML", "report.xml", sourceReport, report.XML},
	{"a customer's report in JSON", "customer-report.json", customerReport, report.JSON},
	{"a customer's report in XML", "customer-report.xml", customerReport, report.XML},
}

// encode encodes r, failing the test on error.
func encode(t *testing.T, r report.Report, f report.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.Encode(&b, r, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

// decode decodes data, failing the test on error.
func decode(t *testing.T, data []byte, f report.Format) report.Report {
	t.Helper()
	r, err := report.Decode(data, f)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, data)
	}
	return r
}

// canonical is r as Decode returns its canonical encoding: events sorted,
// times in UTC, no empty property maps.
func canonical(r report.Report) report.Report {
	r.Start, r.End = r.Start.UTC(), r.End.UTC()
	r.Events = slices.Clone(r.Events)
	for i, e := range r.Events {
		r.Events[i].Time = e.Time.UTC()
		if len(e.Properties) == 0 {
			r.Events[i].Properties = nil
		}
	}
	slices.SortFunc(r.Events, func(a, b report.Event) int {
		return cmpOr(a.Time.Compare(b.Time), strings.Compare(a.CustomerID, b.CustomerID), strings.Compare(a.Meter, b.Meter),
			strings.Compare(a.IdempotencyKey, b.IdempotencyKey))
	})
	return r
}

func cmpOr(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

func TestEncodeGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range goldens {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := encode(t, tt.report(), tt.format)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Encode gave\n%s\nwant (%s)\n%s", got, path, want)
			}
		})
	}
}

func TestDecodeGoldenIsAFixedPoint(t *testing.T) {
	t.Parallel()
	for _, tt := range goldens {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			golden, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, golden, tt.format)
			if want := canonical(tt.report()); !reflect.DeepEqual(r, want) {
				t.Errorf("Decode gave\n%+v\nwant\n%+v", r, want)
			}
			if got := encode(t, r, tt.format); !bytes.Equal(got, golden) {
				t.Errorf("Encode(Decode(golden)) gave\n%s\nwant\n%s", got, golden)
			}
		})
	}
}

func TestConvertingBetweenFormatsIsLossless(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report report.Report
	}{
		{"a source's report survives JSON, XML, JSON", sourceReport()},
		{"a customer's report survives JSON, XML, JSON", customerReport()},
		{"a report without events survives JSON, XML, JSON",
			report.Report{Source: "s", Start: date("2026-04-01T00:00:00Z"), End: date("2026-04-01T00:00:00.000000001Z")}},
		{"text with every kind of awkward character survives JSON, XML, JSON", report.Report{
			Source: "\t\r\n <>&\"' \u2028\u2029 \U0001F600 \uFFFD \u00e9", Start: date("0000-01-01T00:00:00Z"), End: date("9999-12-31T23:59:59.999999999Z"),
			Events: []report.Event{{CustomerID: " c ", Meter: "\r\n", Quantity: "-0.0", Time: date("0000-01-01T00:00:00Z"), IdempotencyKey: "]]>",
				Properties: map[string]string{"\r": "\r\n\r", "&amp;": "<![CDATA[x]]>", " ": " "}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := encode(t, tt.report, report.JSON)
			viaXML := encode(t, decode(t, encode(t, decode(t, first, report.JSON), report.XML), report.XML), report.JSON)
			if !bytes.Equal(viaXML, first) {
				t.Errorf("JSON → XML → JSON gave\n%s\nwant\n%s", viaXML, first)
			}
		})
	}
}

func TestEncodeIsCanonical(t *testing.T) {
	t.Parallel()
	reversed := sourceReport()
	slices.Reverse(reversed.Events)
	inParis := sourceReport()
	paris := time.FixedZone("CEST", 2*60*60)
	inParis.Start, inParis.End = inParis.Start.In(paris), inParis.End.In(paris)
	for i := range inParis.Events {
		inParis.Events[i].Time = inParis.Events[i].Time.In(paris)
	}
	tieA := report.Event{CustomerID: "c", Meter: "m", Quantity: "1", Time: date("2026-04-01T00:00:00Z"), IdempotencyKey: "k"}
	tieB, tieC := tieA, tieA
	tieB.Properties = map[string]string{"a": "1"}
	tieC.Delta = true
	ties := report.Report{Start: date("2026-04-01T00:00:00Z"), End: date("2026-04-02T00:00:00Z"), Events: []report.Event{tieA, tieB, tieC}}
	tiesReversed := ties
	tiesReversed.Events = slices.Clone(ties.Events)
	slices.Reverse(tiesReversed.Events)
	tests := []struct {
		name string
		a, b report.Report
	}{
		{"the order of the events does not matter", sourceReport(), reversed},
		{"the time zone of the times does not matter", sourceReport(), inParis},
		{"events that differ only after the sort key still sort the same", ties, tiesReversed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range []report.Format{report.JSON, report.XML} {
				if a, b := encode(t, tt.a, f), encode(t, tt.b, f); !bytes.Equal(a, b) {
					t.Errorf("format %d: equal reports gave\n%s\nand\n%s", f, a, b)
				}
			}
		})
	}
	t.Run("Encode does not reorder the caller's events", func(t *testing.T) {
		t.Parallel()
		r := sourceReport()
		encode(t, r, report.JSON)
		if !reflect.DeepEqual(r, sourceReport()) {
			t.Error("Encode changed its argument")
		}
	})
}

const minimalJSON = `{
  "version": "1",
  "period": {"start": "2026-04-01T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
  "events": [
    {"customerId": "cus_1", "meter": "bandwidth", "quantity": "1", "time": "2026-04-01T10:00:00Z", "idempotencyKey": "k1"}
  ]
}
`

const minimalXML = `<?xml version="1.0" encoding="UTF-8"?>
<usageReport version="1">
  <period start="2026-04-01T00:00:00Z" end="2026-05-01T00:00:00Z"/>
  <event customerId="cus_1" meter="bandwidth" quantity="1" time="2026-04-01T10:00:00Z" idempotencyKey="k1"/>
</usageReport>
`

// minimalReport is what minimalJSON and minimalXML hold.
func minimalReport() report.Report {
	return report.Report{
		Start: date("2026-04-01T00:00:00Z"), End: date("2026-05-01T00:00:00Z"),
		Events: []report.Event{{CustomerID: "cus_1", Meter: "bandwidth", Quantity: "1", Time: date("2026-04-01T10:00:00Z"), IdempotencyKey: "k1"}},
	}
}

// edit replaces the one occurrence of old in doc with new.
func edit(doc, old, new string) string {
	if strings.Count(doc, old) != 1 {
		panic(fmt.Sprintf("%q is not in the document exactly once", old))
	}
	return strings.Replace(doc, old, new, 1)
}

// properties returns n properties "p0" to "p(n-1)" as JSON members or XML
// elements.
func properties(n int, f report.Format) string {
	var s []string
	for i := range n {
		if f == report.JSON {
			s = append(s, fmt.Sprintf(`"p%d": "v"`, i))
		} else {
			s = append(s, fmt.Sprintf(`<property key="p%d">v</property>`, i))
		}
	}
	if f == report.JSON {
		return strings.Join(s, ", ")
	}
	return strings.Join(s, "")
}

func TestDecodeAcceptsNonCanonicalForms(t *testing.T) {
	t.Parallel()
	withProperty := func(r *report.Report) { r.Events[0].Properties = map[string]string{"k": "a <b>\n"} }
	tests := []struct {
		name   string
		format report.Format
		doc    string
		edit   func(r *report.Report) // of minimalReport
	}{
		{"empty optional JSON fields are the same as absent ones", report.JSON,
			edit(edit(minimalJSON, `"version": "1",`, `"version": "1", "source": "", "customerId": "",`),
				`"idempotencyKey": "k1"`, `"idempotencyKey": "k1", "subject": "", "delta": false, "source": "", "properties": {}`), nil},
		{"JSON fields may come in any order and layout", report.JSON,
			`{"events":[{"idempotencyKey":"k1","time":"2026-04-01T10:00:00Z","quantity":"1","meter":"bandwidth","customerId":"cus_1"}],` +
				`"period":{"end":"2026-05-01T00:00:00Z","start":"2026-04-01T00:00:00Z"},"version":"1"}`, nil},
		{"a JSON time with an offset is converted to UTC", report.JSON,
			edit(minimalJSON, `"2026-04-01T10:00:00Z"`, `"2026-04-01T12:00:00+02:00"`), nil},
		{"a JSON time with redundant fraction digits is the same time", report.JSON,
			edit(minimalJSON, `"2026-04-01T10:00:00Z"`, `"2026-04-01T10:00:00.000000000Z"`), nil},
		{"a JSON event may have properties with escapes", report.JSON,
			edit(minimalJSON, `"idempotencyKey": "k1"`, `"idempotencyKey": "k1", "properties": {"\u006b": "a \u003cb>\n"}`), withProperty},
		{"a JSON report may have no events", report.JSON,
			edit(minimalJSON, minimalJSON[strings.Index(minimalJSON, "["):strings.LastIndex(minimalJSON, "]")+1], `[]`),
			func(r *report.Report) { r.Events = nil }},
		{"empty optional XML attributes are the same as absent ones", report.XML,
			edit(edit(minimalXML, `version="1"`, `version="1" source="" customerId=""`),
				`idempotencyKey="k1"`, `idempotencyKey="k1" subject="" delta="false" source=""`), nil},
		{"XML without a declaration, with comments, quotes and attributes in another order is read", report.XML,
			`<!-- a --><usageReport version='1'><!-- b --><period end="2026-05-01T00:00:00Z" start="2026-04-01T00:00:00Z"><!-- c --></period>` +
				`<event idempotencyKey="k1" time="2026-04-01T10:00:00Z" quantity="1" meter="bandwidth" customerId="cus_1">` + "\n\t" + `</event></usageReport><!-- d -->`, nil},
		{"XML with a byte order mark, namespace declarations and a schema location is read", report.XML,
			"\uFEFF" + edit(edit(minimalXML, `version="1.0" encoding="UTF-8"`, `version='1.0' encoding='utf-8' standalone='yes' `),
				`version="1"`, `version="1" xmlns="" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="usage-report.xsd"`), nil},
		{"an XML time with an offset is converted to UTC", report.XML,
			edit(minimalXML, `"2026-04-01T10:00:00Z"`, `"2026-04-01T09:00:00-01:00"`), nil},
		{"an XML property may be written with CDATA, references and comments", report.XML,
			edit(minimalXML, `idempotencyKey="k1"/>`, `idempotencyKey="k1"><property key="&#x6B;"><![CDATA[a <b>]]><!-- x -->&#xA;</property></event>`), withProperty},
		{"an XML report may have no events", report.XML,
			edit(minimalXML, minimalXML[strings.Index(minimalXML, "  <event"):strings.Index(minimalXML, "</usageReport>")], ""),
			func(r *report.Report) { r.Events = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := minimalReport()
			if tt.edit != nil {
				tt.edit(&want)
			}
			if got := decode(t, []byte(tt.doc), tt.format); !reflect.DeepEqual(got, want) {
				t.Errorf("Decode gave\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestDecodeRefusesBadDocuments(t *testing.T) {
	t.Parallel()
	const (
		J = report.JSON
		X = report.XML
	)
	jsonTime := func(s string) string { return edit(minimalJSON, `"2026-04-01T10:00:00Z"`, `"`+s+`"`) }
	jsonQuantity := func(s string) string { return edit(minimalJSON, `"quantity": "1"`, `"quantity": "`+s+`"`) }
	jsonEvent := func(s string) string {
		return edit(minimalJSON, `"idempotencyKey": "k1"`, `"idempotencyKey": "k1", `+s)
	}
	xmlEvent := func(s string) string {
		return edit(minimalXML, `idempotencyKey="k1"/>`, `idempotencyKey="k1">`+s+`</event>`)
	}
	long := strings.Repeat("x", report.MaxText+1)
	tests := []struct {
		name   string
		format report.Format
		doc    string
		want   string
	}{
		{"an unknown report field is refused", J, edit(minimalJSON, `"version": "1",`, `"version": "1", "extra": 1,`), `unknown field "extra"`},
		{"an unknown event field is refused", J, jsonEvent(`"unit": "GiB"`), `events[0]: unknown field "unit"`},
		{"an unknown period field is refused", J, edit(minimalJSON, `"start"`, `"from": "x", "start"`), `period: unknown field "from"`},
		{"a field in the wrong case is refused", J, edit(minimalJSON, `"version"`, `"Version"`), `unknown field "Version"`},
		{"a repeated field is refused", J, edit(minimalJSON, `"version": "1",`, `"version": "1", "version": "1",`), `repeated field "version"`},
		{"null is refused", J, edit(minimalJSON, `"version": "1",`, `"version": "1", "source": null,`), `source: must be a string`},
		{"a number for a string is refused", J, edit(minimalJSON, `"quantity": "1"`, `"quantity": 1`), `events[0].quantity: must be a string`},
		{"a string for delta is refused", J, jsonEvent(`"delta": "true"`), `events[0].delta: must be true or false`},
		{"a property value that is not a string is refused", J, jsonEvent(`"properties": {"k": 1}`), `events[0].properties["k"]: must be a string`},
		{"a wrong version is refused", J, edit(minimalJSON, `"version": "1"`, `"version": "2"`), `version: "2" is not "1"`},
		{"a missing version is refused", J, edit(minimalJSON, `"version": "1",`, ``), `version: required`},
		{"a missing period is refused", J, edit(minimalJSON, `"period": {"start": "2026-04-01T00:00:00Z", "end": "2026-05-01T00:00:00Z"},`, ``), `period: required`},
		{"a missing period end is refused", J, edit(minimalJSON, `, "end": "2026-05-01T00:00:00Z"`, ``), `period.end: required`},
		{"missing events are refused", J, `{"version": "1", "period": {"start": "2026-04-01T00:00:00Z", "end": "2026-05-01T00:00:00Z"}}`, `events: required`},
		{"a missing idempotency key is refused", J, edit(minimalJSON, `, "idempotencyKey": "k1"`, ``), `events[0].idempotencyKey: required`},
		{"an empty meter is refused", J, edit(minimalJSON, `"meter": "bandwidth"`, `"meter": ""`), `events[0].meter: required`},
		{"a missing event time is refused", J, edit(minimalJSON, `, "time": "2026-04-01T10:00:00Z"`, ``), `events[0].time: required`},
		{"an event before the period is refused", J, jsonTime("2026-03-31T23:59:59.999999999Z"), `events[0].time: outside the period`},
		{"an event at the end of the period is refused", J, jsonTime("2026-05-01T00:00:00Z"), `events[0].time: outside the period`},
		{"an end before the start is refused", J, edit(minimalJSON, `"end": "2026-05-01T00:00:00Z"`, `"end": "2026-03-01T00:00:00Z"`), `period: start must be before end`},
		{"an empty period is refused", J, edit(minimalJSON, `"end": "2026-05-01T00:00:00Z"`, `"end": "2026-04-01T00:00:00Z"`), `period: start must be before end`},
		{"a quantity with an exponent is refused", J, jsonQuantity("1e3"), `events[0].quantity: not a decimal`},
		{"a quantity with a plus sign is refused", J, jsonQuantity("+1"), `events[0].quantity: not a decimal`},
		{"a quantity with a space is refused", J, jsonQuantity(" 1"), `events[0].quantity: not a decimal`},
		{"a quantity ending in a point is refused", J, jsonQuantity("1."), `events[0].quantity: not a decimal`},
		{"a quantity starting with a point is refused", J, jsonQuantity(".5"), `events[0].quantity: not a decimal`},
		{"a lone minus sign is refused", J, jsonQuantity("-"), `events[0].quantity: not a decimal`},
		{"a decimal comma is refused", J, jsonQuantity("1,5"), `events[0].quantity: not a decimal`},
		{"non-ASCII digits are refused", J, jsonQuantity("١"), `events[0].quantity: not a decimal`},
		{"an empty quantity is refused", J, jsonQuantity(""), `events[0].quantity: required`},
		{"a quantity longer than the limit is refused", J, jsonQuantity(strings.Repeat("9", report.MaxText+1)), `events[0].quantity: longer than 255 bytes`},
		{"a time with a space is refused", J, jsonTime("2026-04-01 10:00:00Z"), `events[0].time: not an RFC 3339 time`},
		{"a time without a zone is refused", J, jsonTime("2026-04-01T10:00:00"), `events[0].time: not an RFC 3339 time`},
		{"a day that does not exist is refused", J, jsonTime("2026-02-30T10:00:00Z"), `events[0].time: not an RFC 3339 time`},
		{"hour 24 is refused", J, jsonTime("2026-04-01T24:00:00Z"), `events[0].time: not an RFC 3339 time`},
		{"a one-digit hour is refused", J, jsonTime("2026-04-01T1:00:00Z"), `events[0].time: not an RFC 3339 time`},
		{"an offset of 24 hours is refused", J, jsonTime("2026-04-01T10:00:00+24:00"), `events[0].time: not an RFC 3339 time`},
		{"a decimal comma in a time is refused", J, jsonTime("2026-04-01T10:00:00,5Z"), `events[0].time: not an RFC 3339 time`},
		{"more than nanoseconds is refused", J, jsonTime("2026-04-01T10:00:00.1234567891Z"), `events[0].time: not an RFC 3339 time`},
		{"a time that is before year 0 in UTC is refused", J,
			edit(minimalJSON, `"start": "2026-04-01T00:00:00Z"`, `"start": "0000-01-01T00:00:00+01:00"`), `period.start: not in the years 0000 to 9999 in UTC`},
		{"too many properties are refused", J, jsonEvent(`"properties": {` + properties(report.MaxProperties+1, J) + `}`), `events[0].properties: more than 32`},
		{"an oversized property key is refused", J, jsonEvent(`"properties": {"` + long + `": "v"}`), `events[0].properties key: longer than 255 bytes`},
		{"an empty property key is refused", J, jsonEvent(`"properties": {"": "v"}`), `events[0].properties key: required`},
		{"an oversized property value is refused", J, jsonEvent(`"properties": {"k": "` + strings.Repeat("x", report.MaxValue+1) + `"}`), `events[0].properties["k"]: longer than 1024 bytes`},
		{"an oversized customer id is refused", J, edit(minimalJSON, `"cus_1"`, `"`+long+`"`), `events[0].customerId: longer than 255 bytes`},
		{"a character XML cannot carry is refused", J, jsonEvent(`"subject": "a\u0001b"`), `events[0].subject: has the character U+0001, which XML 1.0 cannot carry`},
		{"trailing garbage is refused", J, minimalJSON + "x", `trailing data after the report`},
		{"a second JSON value is refused", J, minimalJSON + "{}", `trailing data after the report`},
		{"a report that is not an object is refused", J, `[]`, `must be an object`},
		{"a truncated document is refused", J, minimalJSON[:100], `unexpected end of the document`},
		{"a syntax error is refused", J, edit(minimalJSON, `"version": "1",`, `"version": "1" "x",`), `at byte 19: invalid character`},
		{"invalid UTF-8 is refused", J, edit(minimalJSON, `"cus_1"`, "\"cus_\xff\""), `not valid UTF-8`},
		{"an empty document is refused", J, ``, `unexpected end of the document`},

		{"a DOCTYPE is refused", X, edit(minimalXML, "\n<usageReport", "\n<!DOCTYPE usageReport [<!ENTITY x \"1\">]>\n<usageReport"), `DOCTYPE and other directives are not allowed`},
		{"an undeclared entity is refused", X, edit(minimalXML, `quantity="1"`, `quantity="&x;"`), `invalid character entity &x;`},
		{"a processing instruction is refused", X, edit(minimalXML, "\n<usageReport", "\n<?php echo 1 ?>\n<usageReport"), `processing instructions are not allowed`},
		{"an unknown XML element is refused", X, edit(minimalXML, "</usageReport>", "<extra/></usageReport>"), `unknown element <extra>`},
		{"an unknown element in an event is refused", X, xmlEvent(`<unit/>`), `events[0]: unknown element <unit>`},
		{"an element in a property is refused", X, xmlEvent(`<property key="k"><b/></property>`), `events[0].properties[0]: unknown element <b>`},
		{"an unknown XML attribute is refused", X, edit(minimalXML, `idempotencyKey="k1"`, `idempotencyKey="k1" unit="GiB"`), `events[0]: unknown attribute "unit"`},
		{"an unknown report attribute is refused", X, edit(minimalXML, `version="1"`, `version="1" id="r1"`), `unknown attribute "id"`},
		{"an xsi attribute other than a schema location is refused", X,
			edit(minimalXML, `version="1"`, `version="1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x"`),
			`unknown attribute "http://www.w3.org/2001/XMLSchema-instance:type"`},
		{"attributes without whitespace between them are refused", X, edit(minimalXML, `meter="bandwidth" quantity`, `meter="bandwidth"quantity`),
			`<event>: no whitespace between attributes`},
		{"a malformed XML declaration is refused", X, edit(minimalXML, `version="1.0" encoding`, `vershun="1.0" encoding`), `malformed XML declaration`},
		{"an XML declaration that is not first is refused", X, "\n" + minimalXML, `processing instructions are not allowed`},
		{"a namespace is refused", X, edit(minimalXML, `<usageReport version="1">`, `<usageReport xmlns="urn:x" version="1">`), `the root element is <urn:x:usageReport>, not <usageReport>`},
		{"another root element is refused", X, "<report/>", `the root element is <report>, not <usageReport>`},
		{"a repeated attribute is refused", X, edit(minimalXML, `quantity="1"`, `quantity="1" quantity="2"`), `events[0]: repeated attribute "quantity"`},
		{"a wrong XML version is refused", X, edit(minimalXML, `version="1">`, `version="1.0">`), `version: "1.0" is not "1"`},
		{"a missing XML version is refused", X, edit(minimalXML, ` version="1">`, `>`), `version: required`},
		{"a missing XML idempotency key is refused", X, edit(minimalXML, ` idempotencyKey="k1"`, ``), `events[0].idempotencyKey: required`},
		{"a bad XML quantity is refused", X, edit(minimalXML, `quantity="1"`, `quantity="1e3"`), `events[0].quantity: not a decimal`},
		{"a bad XML time is refused", X, edit(minimalXML, `time="2026-04-01T10:00:00Z"`, `time="yesterday"`), `events[0].time: not an RFC 3339 time`},
		{"an XML event outside the period is refused", X, edit(minimalXML, `time="2026-04-01T10:00:00Z"`, `time="2026-05-01T10:00:00Z"`), `events[0].time: outside the period`},
		{"an XML end before the start is refused", X, edit(minimalXML, `end="2026-05-01T00:00:00Z"`, `end="2026-03-01T00:00:00Z"`), `period: start must be before end`},
		{"a delta that is not true or false is refused", X, edit(minimalXML, `quantity="1"`, `quantity="1" delta="1"`), `events[0].delta: must be true or false`},
		{"an empty delta is refused", X, edit(minimalXML, `quantity="1"`, `quantity="1" delta=""`), `events[0].delta: must be true or false`},
		{"a missing period is refused in XML", X, edit(minimalXML, `  <period start="2026-04-01T00:00:00Z" end="2026-05-01T00:00:00Z"/>`+"\n", ``), `period: must come first`},
		{"a report of only a version is refused", X, `<usageReport version="1"/>`, `period: required`},
		{"a repeated period is refused", X, edit(minimalXML, "</usageReport>", `<period start="2026-04-01T00:00:00Z" end="2026-05-01T00:00:00Z"/></usageReport>`), `period: repeated`},
		{"text in the period is refused", X, edit(minimalXML, `end="2026-05-01T00:00:00Z"/>`, `end="2026-05-01T00:00:00Z"> </period>`), `period: must be empty`},
		{"text between elements is refused", X, edit(minimalXML, "</usageReport>", "oops</usageReport>"), `text is not allowed here`},
		{"too many XML properties are refused", X, xmlEvent(properties(report.MaxProperties+1, X)), `events[0].properties: more than 32`},
		{"a repeated property key is refused", X, xmlEvent(`<property key="k">1</property><property key="k">2</property>`), `events[0].properties: repeated key "k"`},
		{"a property without a key is refused", X, xmlEvent(`<property>1</property>`), `events[0].properties key: required`},
		{"an oversized XML property key is refused", X, xmlEvent(`<property key="` + long + `"/>`), `events[0].properties key: longer than 255 bytes`},
		{"a second root element is refused", X, minimalXML + "<usageReport/>", `trailing data after the report`},
		{"text after the report is refused", X, minimalXML + "x", `text outside the report element`},
		{"another encoding is refused", X, edit(minimalXML, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), `ISO-8859-1`},
		{"a character reference XML forbids is refused", X, edit(minimalXML, `meter="bandwidth"`, `meter="band&#x1;width"`), `illegal character code U+0001`},
		{"an unclosed element is refused", X, minimalXML[:strings.Index(minimalXML, "</usageReport>")], `unexpected EOF`},
		{"an empty XML document is refused", X, "", `no usageReport element`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := report.Decode([]byte(tt.doc), tt.format)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode gave %v, want an error containing %q; document:\n%s", err, tt.want, tt.doc)
			}
			if !reflect.DeepEqual(r, report.Report{}) {
				t.Errorf("Decode gave %+v with its error, want a zero report", r)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Parallel()
	many := report.Report{Start: date("2026-04-01T00:00:00Z"), End: date("2026-05-01T00:00:00Z")}
	for i := range report.MaxEvents {
		many.Events = append(many.Events, report.Event{CustomerID: "c", Meter: "m", Quantity: "1", Time: many.Start, IdempotencyKey: fmt.Sprint(i)})
	}
	tests := []struct {
		name   string
		format report.Format
		extra  func(doc string) string // adds one event to an encoded report of MaxEvents
	}{
		{"a JSON report may have up to MaxEvents events", report.JSON,
			func(doc string) string {
				return edit(doc, `"events": [`, `"events": [{"customerId": "c", "meter": "m", "quantity": "1", "time": "2026-04-01T00:00:00Z", "idempotencyKey": "x"},`)
			}},
		{"an XML report may have up to MaxEvents events", report.XML,
			func(doc string) string {
				return edit(doc, "</usageReport>", `<event customerId="c" meter="m" quantity="1" time="2026-04-01T00:00:00Z" idempotencyKey="x"/></usageReport>`)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := encode(t, many, tt.format)
			if r := decode(t, doc, tt.format); len(r.Events) != report.MaxEvents {
				t.Fatalf("Decode gave %d events, want %d", len(r.Events), report.MaxEvents)
			}
			if _, err := report.Decode([]byte(tt.extra(string(doc))), tt.format); err == nil || err.Error() != "events: more than 100000" {
				t.Errorf("Decode of one event more gave %v, want events: more than 100000", err)
			}
		})
	}
	t.Run("a document larger than 64 MiB is refused before it is read", func(t *testing.T) {
		t.Parallel()
		doc := make([]byte, 64<<20+1)
		if _, err := report.Decode(doc, report.JSON); err == nil || err.Error() != "larger than 64 MiB" {
			t.Errorf("Decode gave %v, want larger than 64 MiB", err)
		}
	})
}

func TestEncodeRefusesWhatDecodeWould(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(r *report.Report)
		format report.Format
		want   string
	}{
		{"a zero report is refused", func(r *report.Report) { *r = report.Report{} }, report.JSON, "period: start must be before end"},
		{"a bad quantity is refused", func(r *report.Report) { r.Events[0].Quantity = "1e3" }, report.JSON, "events[0].quantity: not a decimal"},
		{"an event outside the period is refused", func(r *report.Report) { r.Events[0].Time = r.End }, report.XML, "events[0].time: outside the period"},
		{"a time after year 9999 in UTC is refused", func(r *report.Report) { r.End = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, report.XML,
			"period.end: not in the years 0000 to 9999 in UTC"},
		{"too many properties are refused", func(r *report.Report) {
			r.Events[0].Properties = map[string]string{}
			for i := range report.MaxProperties + 1 {
				r.Events[0].Properties[fmt.Sprint(i)] = ""
			}
		}, report.JSON, "events[0].properties: more than 32"},
		{"invalid UTF-8 is refused", func(r *report.Report) { r.Source = "\xff" }, report.JSON, "source: not valid UTF-8"},
		{"a NUL character is refused", func(r *report.Report) { r.Events[0].Properties = map[string]string{"k": "\x00"} }, report.XML,
			`events[0].properties["k"]: has the character U+0000, which XML 1.0 cannot carry`},
		{"an unknown format is refused", func(*report.Report) {}, report.Format(0), "unknown format 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := minimalReport()
			tt.edit(&r)
			var b bytes.Buffer
			err := report.Encode(&b, r, tt.format)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Encode gave %v, want %s", err, tt.want)
			}
			if b.Len() > 0 {
				t.Errorf("Encode wrote %q with its error", b.Bytes())
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want report.Format
		ok   bool
	}{
		{"no format is JSON", "", report.JSON, true},
		{"json is JSON", "json", report.JSON, true},
		{"xml is XML", "xml", report.XML, true},
		{"names are case-sensitive", "XML", 0, false},
		{"other names are refused", "csv", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, ok := report.ParseFormat(tt.in); got != tt.want || ok != tt.ok {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
