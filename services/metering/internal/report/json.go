package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The JSON form, for encoding; encoding/json writes the fields in this
// order and map keys sorted.
type (
	jsonReport struct {
		Version            string      `json:"version"`
		Source             string      `json:"source,omitempty"`
		CustomerID         string      `json:"customerId,omitempty"`
		CustomerExternalID string      `json:"customerExternalId,omitempty"`
		Period             jsonPeriod  `json:"period"`
		Events             []jsonEvent `json:"events"`
	}
	jsonPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	jsonEvent struct {
		CustomerID         string            `json:"customerId"`
		CustomerExternalID string            `json:"customerExternalId,omitempty"`
		Meter              string            `json:"meter"`
		Quantity           string            `json:"quantity"`
		Time               string            `json:"time"`
		IdempotencyKey     string            `json:"idempotencyKey"`
		Subject            string            `json:"subject,omitempty"`
		Delta              bool              `json:"delta,omitempty"`
		Source             string            `json:"source,omitempty"`
		Properties         map[string]string `json:"properties,omitempty"`
	}
)

// jsonWriter writes the JSON form in pieces: what json.Encoder writes for
// the whole report with two spaces of indentation, cut before, between
// and after the events.
type jsonWriter struct{}

// jsonEvents is how the header the encoder writes for a report without
// events ends; the events go between the brackets.
const jsonEvents = "[]\n}\n"

func (jsonWriter) header(b *bytes.Buffer, r Report) error {
	err := encodeIndented(b, "", jsonReport{
		Version: Version, Source: r.Source, CustomerID: r.CustomerID, CustomerExternalID: r.CustomerExternalID,
		Period: jsonPeriod{Start: formatTime(r.Start), End: formatTime(r.End)},
		Events: []jsonEvent{},
	})
	if err != nil {
		return err
	}
	b.Truncate(b.Len() - len(jsonEvents) + 1) // keep the '['
	return nil
}

func (jsonWriter) event(b *bytes.Buffer, e Event, first bool) error {
	if first {
		b.WriteString("\n    ")
	} else {
		b.WriteString(",\n    ")
	}
	err := encodeIndented(b, "    ", jsonEvent{
		CustomerID: e.CustomerID, CustomerExternalID: e.CustomerExternalID, Meter: e.Meter, Quantity: e.Quantity, Time: formatTime(e.Time),
		IdempotencyKey: e.IdempotencyKey, Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: e.Properties,
	})
	if err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // the encoder's newline
	return nil
}

func (jsonWriter) footer(b *bytes.Buffer, events int) {
	if events > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString(jsonEvents[1:])
}

// encodeIndented writes v as JSON indented by two spaces after prefix,
// without escaping HTML, and a newline.
func encodeIndented(b *bytes.Buffer, prefix string, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	return enc.Encode(v)
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
		case "customerExternalId":
			r.CustomerExternalID, err = d.str(key)
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
		case "customerExternalId":
			e.CustomerExternalID, err = d.str(p)
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
