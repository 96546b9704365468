package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// xmlWriter writes the XML form in pieces: the declaration, the report's
// start tag and period, each event, and the end tag.
type xmlWriter struct{}

// xmlAttr writes an attribute unless value is empty.
func xmlAttr(b *bytes.Buffer, name, value string) {
	if value != "" {
		b.WriteString(" " + name + `="`)
		xml.EscapeText(b, []byte(value)) // A bytes.Buffer does not fail.
		b.WriteString(`"`)
	}
}

func (xmlWriter) header(b *bytes.Buffer, r Report) error {
	b.WriteString(xml.Header)
	b.WriteString("<usageReport")
	xmlAttr(b, "version", Version)
	xmlAttr(b, "source", r.Source)
	xmlAttr(b, "customerId", r.CustomerID)
	xmlAttr(b, "customerExternalId", r.CustomerExternalID)
	b.WriteString(">\n  <period")
	xmlAttr(b, "start", formatTime(r.Start))
	xmlAttr(b, "end", formatTime(r.End))
	b.WriteString("/>\n")
	return nil
}

func (xmlWriter) event(b *bytes.Buffer, e Event, _ bool) error {
	b.WriteString("  <event")
	xmlAttr(b, "customerId", e.CustomerID)
	xmlAttr(b, "customerExternalId", e.CustomerExternalID)
	xmlAttr(b, "meter", e.Meter)
	xmlAttr(b, "quantity", e.Quantity)
	xmlAttr(b, "time", formatTime(e.Time))
	xmlAttr(b, "idempotencyKey", e.IdempotencyKey)
	xmlAttr(b, "subject", e.Subject)
	if e.Delta {
		xmlAttr(b, "delta", "true")
	}
	xmlAttr(b, "source", e.Source)
	if len(e.Properties) == 0 {
		b.WriteString("/>\n")
		return nil
	}
	b.WriteString(">\n")
	for _, k := range slices.Sorted(maps.Keys(e.Properties)) {
		b.WriteString("    <property")
		xmlAttr(b, "key", k)
		b.WriteString(">")
		xml.EscapeText(b, []byte(e.Properties[k]))
		b.WriteString("</property>\n")
	}
	b.WriteString("  </event>\n")
	return nil
}

func (xmlWriter) footer(b *bytes.Buffer, _ int) { b.WriteString("</usageReport>\n") }

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
	if err := attrs("", start, map[string]*string{"version": &version, "source": &r.Source, "customerId": &r.CustomerID, "customerExternalId": &r.CustomerExternalID}); err != nil {
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
		"customerId": &e.CustomerID, "customerExternalId": &e.CustomerExternalID, "meter": &e.Meter, "quantity": &e.Quantity, "time": &tm,
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
