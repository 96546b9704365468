package subscription

import (
	"context"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
)

// CreateCustomer creates a customer.
func (s *Service) CreateCustomer(ctx context.Context, in CustomerInput) (Customer, error) {
	if err := in.Validate(); err != nil {
		return Customer{}, err
	}
	if in.Anchor == 0 {
		in.Anchor = Calendar
	}
	now := s.clock.Now()
	c := Customer{
		ID: ids.New("cus"), ExternalID: in.ExternalID, Name: in.Name, Email: in.Email, Currency: in.Currency,
		Anchor: Anchor{Kind: in.Anchor}, ParentID: in.ParentID, CreateTime: now, UpdateTime: now,
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.checkParent(ctx, "customer.parent_customer_id", c.ID, c.ParentID); err != nil {
			return err
		}
		return s.store.CreateCustomer(ctx, c)
	})
	return c, err
}

// checkParent checks that parentID, if set, names a customer that is not id
// nor one of id's own customers, so resellers form no cycle.
// field is the parent's field path in the request.
func (s *Service) checkParent(ctx context.Context, field, id, parentID string) error {
	for p, depth := parentID, 0; p != ""; depth++ {
		if p == id || depth == 16 {
			return errs.Field(field, "would make a reseller cycle")
		}
		parent, err := s.store.GetCustomer(ctx, p)
		if errs.Is(err, errs.NotFound) {
			return errs.Field(field, "customer %q does not exist", shortID(p))
		} else if err != nil {
			return err
		}
		p = parent.ParentID
	}
	return nil
}

// GetCustomer returns a customer.
func (s *Service) GetCustomer(ctx context.Context, id string) (Customer, error) {
	return s.store.GetCustomer(ctx, id)
}

// ListCustomers lists customers by id.
func (s *Service) ListCustomers(ctx context.Context, f CustomerFilter, pr page.Request) (page.Page[Customer], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Customer]{}, err
	}
	after, limit := pr.Cursor()
	cs, err := s.store.ListCustomers(ctx, f, after, limit+1)
	if err != nil {
		return page.Page[Customer]{}, err
	}
	return page.New(cs, limit, func(c Customer) string { return c.ID }), nil
}

// UpdateCustomer changes a customer. The currency and the anchor are fixed
// once the customer has a subscription.
func (s *Service) UpdateCustomer(ctx context.Context, in CustomerUpdate) (Customer, error) {
	if err := in.Validate(); err != nil {
		return Customer{}, err
	}
	var c Customer
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.LockCustomer(ctx, in.ID); err != nil {
			return err
		}
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&c.ExternalID, in.ExternalID)
		set(&c.Name, in.Name)
		set(&c.Email, in.Email)
		if (in.Currency != nil && *in.Currency != c.Currency) || (in.Anchor != nil && *in.Anchor != c.Anchor.Kind) {
			has, err := s.store.HasSubscriptions(ctx, c.ID)
			if err != nil {
				return err
			}
			if has {
				return errs.New(errs.FailedPrecondition, "customer %s has subscriptions: its currency and billing anchor are fixed", c.ID)
			}
			set(&c.Currency, in.Currency)
			if in.Anchor != nil {
				c.Anchor = Anchor{Kind: *in.Anchor}
			}
		}
		if in.ParentID != nil {
			if err := s.checkParent(ctx, "parent_customer_id", c.ID, *in.ParentID); err != nil {
				return err
			}
			c.ParentID = *in.ParentID
		}
		c.UpdateTime = s.clock.Now()
		return s.store.UpdateCustomer(ctx, c)
	})
	return c, err
}
