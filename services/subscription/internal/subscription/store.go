package subscription

import (
	"context"
	"time"
)

// Store keeps customers, subscriptions, their changes and segments, and the
// copies of the plan versions they use. Lookups of one thing return an
// errs.NotFound error when it does not exist. Every method runs in the
// transaction carried by ctx, if any.
type Store interface {
	// InTx runs fn in a transaction carried by the context fn gets.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateCustomer stores a new customer; an external id in use is an
	// errs.AlreadyExists error.
	CreateCustomer(ctx context.Context, c Customer) error
	// UpdateCustomer stores every field of c but its id and create time.
	UpdateCustomer(ctx context.Context, c Customer) error
	GetCustomer(ctx context.Context, id string) (Customer, error)
	// LockCustomer is GetCustomer that also locks the customer until the
	// transaction of ctx ends.
	LockCustomer(ctx context.Context, id string) (Customer, error)
	// ListCustomers returns up to limit customers matching f with ids after
	// after, by id.
	ListCustomers(ctx context.Context, f CustomerFilter, after string, limit int) ([]Customer, error)
	// GetCustomers returns the customers of the given ids that exist, in
	// no particular order.
	GetCustomers(ctx context.Context, ids []string) ([]Customer, error)
	// HasSubscriptions reports whether the customer has any subscription.
	HasSubscriptions(ctx context.Context, customerID string) (bool, error)

	// PutPlanVersion stores a copy of a published plan version unless one
	// is stored already.
	PutPlanVersion(ctx context.Context, v PlanVersion) error
	// GetPlanVersions returns the stored copies of the given versions that
	// exist.
	GetPlanVersions(ctx context.Context, refs []VersionRef) ([]PlanVersion, error)

	// CreateSubscription stores a new subscription with its changes.
	CreateSubscription(ctx context.Context, s Subscription) error
	// GetSubscription returns the subscription with all its changes.
	GetSubscription(ctx context.Context, id string) (Subscription, error)
	// LockSubscription is GetSubscription that also locks the subscription
	// until the transaction of ctx ends, so that its changes happen one at a
	// time.
	LockSubscription(ctx context.Context, id string) (Subscription, error)
	// ListSubscriptions returns up to limit of the customer's subscriptions
	// with ids after after, by id, with their changes.
	ListSubscriptions(ctx context.Context, customerID, after string, limit int) ([]Subscription, error)
	// AddChange appends a change to its subscription.
	AddChange(ctx context.Context, c Change) error
	// WithdrawChanges marks changes withdrawn at the given time.
	WithdrawChanges(ctx context.Context, ids []string, at time.Time) error

	// CurrentSegments returns the subscription's segments that are not
	// superseded, by start.
	CurrentSegments(ctx context.Context, subscriptionID string) ([]Segment, error)
	// ReplaceSegments marks the given segments superseded at the given time
	// and adds new ones. Nothing else about a stored segment ever changes.
	ReplaceSegments(ctx context.Context, supersede, add []Segment, at time.Time) error
	// SegmentsAt returns the customer's current segments that contain at,
	// and the start of its first current segment after at (zero if none);
	// it may leave their BillSeparately unset.
	SegmentsAt(ctx context.Context, customerID string, at time.Time) ([]Segment, time.Time, error)
	// SegmentsIn returns the customer's current segments that overlap p,
	// only those of one subscription if subscriptionID is not empty, by
	// subscription and start.
	SegmentsIn(ctx context.Context, customerID, subscriptionID string, p Period) ([]Segment, error)
	// SegmentsOf returns the current segments of the given customers, by
	// customer, each customer's by subscription and start.
	SegmentsOf(ctx context.Context, customerIDs []string) (map[string][]Segment, error)
	// CustomersWithSegments returns up to limit customers that have current
	// segments, with ids after after, by id, with those segments.
	CustomersWithSegments(ctx context.Context, after string, limit int) ([]Customer, map[string][]Segment, error)

	// CreateKey stores a new API key; a request key in use is an
	// errs.AlreadyExists error.
	CreateKey(ctx context.Context, k APIKey) error
	// KeyByRequest returns the key created with the request key.
	KeyByRequest(ctx context.Context, requestKey string) (APIKey, error)
	GetKey(ctx context.Context, id string) (APIKey, error)
	// LockKey is GetKey that also locks the key until the transaction of
	// ctx ends.
	LockKey(ctx context.Context, id string) (APIKey, error)
	// UpdateKey stores a key's expiry and revocation.
	UpdateKey(ctx context.Context, k APIKey) error
	// ListKeys returns up to limit keys with ids after after, by id.
	ListKeys(ctx context.Context, after string, limit int) ([]APIKey, error)
	// HasLiveAdminKey reports whether an admin key works at now.
	HasLiveAdminKey(ctx context.Context, now time.Time) (bool, error)
	// ChildIDs returns the ids of the customers whose reseller is
	// customerID.
	ChildIDs(ctx context.Context, customerID string) ([]string, error)

	// Publish writes an event to the outbox, to be published to the bus
	// once the transaction of ctx commits.
	Publish(ctx context.Context, topic, key string, payload []byte, at time.Time) error
}

// CustomerFilter narrows ListCustomers.
type CustomerFilter struct {
	ExternalID string
	ParentID   string
}

// Catalog is what the service needs of the catalog service.
type Catalog interface {
	// PlanVersion returns the published version of the plan whose id or key
	// is ref (the latest one when version is 0), if it can be sold: an
	// archived plan, a plan without a published version, a draft version, or
	// a plan of an offering that has no plans is an errs.FailedPrecondition
	// error; a missing plan or version is errs.NotFound.
	PlanVersion(ctx context.Context, ref string, version int32) (PlanVersion, error)
}
