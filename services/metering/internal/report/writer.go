package report

import (
	"bytes"
	"fmt"
	"io"
)

// Writer writes a report event by event, so that a report of any size is
// written without holding its events: given the events in canonical order
// (see Encode), it writes exactly the bytes Encode writes for the same
// report. It checks each event as Encode does and refuses one out of
// order; it does not limit the number of events (Decode does: a report
// with more than MaxEvents must be imported in parts).
type Writer struct {
	w      io.Writer
	enc    encoder
	r      Report
	n      int
	last   Event
	buf    bytes.Buffer
	closed bool
}

// encoder writes the pieces of a format.
type encoder interface {
	header(b *bytes.Buffer, r Report) error
	event(b *bytes.Buffer, e Event, first bool) error
	footer(b *bytes.Buffer, events int)
}

// NewWriter checks r's header (r.Events are ignored) and writes the start
// of the document to w.
func NewWriter(w io.Writer, r Report, f Format) (*Writer, error) {
	var enc encoder
	switch f {
	case JSON:
		enc = jsonWriter{}
	case XML:
		enc = xmlWriter{}
	default:
		return nil, fmt.Errorf("unknown format %d", f)
	}
	if err := validateHeader(r); err != nil {
		return nil, err
	}
	r.Events = nil
	rw := &Writer{w: w, enc: enc, r: r}
	if err := enc.header(&rw.buf, r); err != nil {
		return nil, err
	}
	return rw, rw.flush()
}

// Write writes the next event.
func (rw *Writer) Write(e Event) error {
	if rw.closed {
		return fmt.Errorf("report: write after close")
	}
	p := fmt.Sprintf("events[%d]", rw.n)
	if err := validateEvent(p, e, rw.r); err != nil {
		return err
	}
	if rw.n > 0 && compareEvents(rw.last, e) > 0 {
		return fmt.Errorf("%s: out of the canonical order", p)
	}
	if err := rw.enc.event(&rw.buf, e, rw.n == 0); err != nil {
		return err
	}
	rw.n++
	rw.last = e
	return rw.flush()
}

// Events returns how many events were written.
func (rw *Writer) Events() int { return rw.n }

// Close writes the end of the document. It does not close the underlying
// writer.
func (rw *Writer) Close() error {
	if rw.closed {
		return nil
	}
	rw.closed = true
	rw.enc.footer(&rw.buf, rw.n)
	return rw.flush()
}

func (rw *Writer) flush() error {
	_, err := rw.w.Write(rw.buf.Bytes())
	rw.buf.Reset()
	return err
}
