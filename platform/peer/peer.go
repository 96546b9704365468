// Package peer turns the failure of a call to another Meterplane service
// into what it means for this service's caller, for the failures every
// peer adapter treats alike. Each adapter maps the codes that carry
// meaning for its call (a NotFound plan is the caller's bad plan_id) and
// hands the rest to Failed.
package peer

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
)

// Failed maps err, returned by call on the peer service: a peer that is
// down, overloaded or too slow is errs.Unavailable (the caller may retry;
// the peer's own message is not shown); the caller's own cancellation or
// deadline stays what it is; anything else is an unexpected failure,
// which the server answers as Internal with a trace id and logs.
func Failed(service, call string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return &errs.Error{Kind: errs.Unavailable, Message: fmt.Sprintf("the %s service is unavailable; retry later", service),
			Err: fmt.Errorf("%s %s: %s: %s", service, call, st.Code(), st.Message())}
	}
	return fmt.Errorf("%s %s: %s: %s", service, call, st.Code(), st.Message())
}
