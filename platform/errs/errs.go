// Package errs defines the domain error kinds shared by every Meterplane
// service. Domain code returns these; the gRPC layer maps each kind to a
// status code in one place (see package server).
package errs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind classifies a domain error.
type Kind int

// The kinds of domain error. Internal is the zero value so that an error
// without a kind is never mistaken for the caller's fault.
const (
	Internal Kind = iota
	Invalid
	NotFound
	AlreadyExists
	FailedPrecondition
	Conflict
	ResourceExhausted
	Unauthenticated
	PermissionDenied
	// Unavailable says a service the call needs cannot answer now; the
	// caller may retry.
	Unavailable
)

// FieldViolation names one bad field of a request and why it is bad.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a domain error with a kind, a message for the caller and, for
// Invalid, the fields at fault.
type Error struct {
	Kind       Kind
	Message    string
	Violations []FieldViolation
	Err        error
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	if e.Message == "" {
		return strings.Join(parts, "; ")
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

func (e *Error) Unwrap() error { return e.Err }

// MaxArg is the longest string argument a message shows whole: a longer
// one (an id or name a client sent) is cut, so that an error never echoes
// a huge input back.
const MaxArg = 128

// Short returns s for a message: whole, or its first MaxArg bytes (cut
// at a character boundary) and "…".
func Short(s string) string {
	if len(s) <= MaxArg {
		return s
	}
	return strings.ToValidUTF8(s[:MaxArg], "") + "…"
}

// sprintf formats like fmt.Sprintf with string arguments cut at MaxArg.
func sprintf(format string, args ...any) string {
	args = slices.Clone(args)
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = Short(s)
		}
	}
	return fmt.Sprintf(format, args...)
}

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: sprintf(format, args...)}
}

// Field returns an Invalid error naming one field.
func Field(field, format string, args ...any) error {
	return &Error{Kind: Invalid, Message: "invalid argument", Violations: []FieldViolation{{Field: field, Description: sprintf(format, args...)}}}
}

// KindOf returns the kind of err, Internal for errors that are not domain errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is a domain error of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Violations collects field violations while a request is validated.
// The zero value is ready to use.
type Violations []FieldViolation

// Add records that field is bad.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: sprintf(format, args...)})
}

// Err returns an Invalid error holding the violations, or nil if there are none.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "invalid argument", Violations: v}
}
