// Package peers reads the subscription, catalog and metering services for
// the invoice service.
package peers

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// NewSources returns the invoice service's Sources over the three
// services' connections.
//
// This is a placeholder that answers Unavailable to every call: the gRPC
// implementation with batch reads is built separately and replaces it.
func NewSources(subscription, catalog, metering grpc.ClientConnInterface) invoice.Sources {
	return unwired{}
}

type unwired struct{}

func errUnwired() error { return errs.New(errs.Unavailable, "sources not wired") }

func (unwired) DuePeriods(context.Context, time.Time, time.Time, string) ([]invoice.Due, string, error) {
	return nil, "", errUnwired()
}

func (unwired) CurrentPeriod(context.Context, string, time.Time) (invoice.Due, error) {
	return invoice.Due{}, errUnwired()
}

func (unwired) Inputs(context.Context, []invoice.Due) ([]rating.Input, error) { return nil, errUnwired() }

func (unwired) Complete(context.Context, invoice.Due) (bool, error) { return false, errUnwired() }

func (unwired) ClosePeriod(context.Context, invoice.Due) error { return errUnwired() }

func (unwired) Customers(context.Context, []string) ([]invoice.Customer, error) { return nil, errUnwired() }

func (unwired) Children(context.Context, string) ([]string, error) { return nil, errUnwired() }
