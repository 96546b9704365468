package subscription

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
)

// APIKey is an API key as stored: its secret only as a hash.
type APIKey struct {
	ID   string
	Name string
	Role auth.Role
	// CustomerID binds a customer key to its customer.
	CustomerID string
	Hash       []byte
	CreateTime time.Time
	// ExpireTime is when the key stops working; zero for never.
	ExpireTime time.Time
	// RevokeTime is when the key was revoked; zero if it was not.
	RevokeTime time.Time
	// RequestKey is the idempotency key of the call that created it.
	RequestKey string
}

// Live reports whether the key works at now.
func (k APIKey) Live(now time.Time) bool {
	return k.RevokeTime.IsZero() && (k.ExpireTime.IsZero() || now.Before(k.ExpireTime))
}

// KeyInput is a key to create.
type KeyInput struct {
	Name       string
	Role       auth.Role
	CustomerID string
	ExpireTime time.Time
	// Key, if set, makes a retry answer the same key, without its token:
	// only the hash of the token is kept, so only the first answer has it.
	Key string
}

// Validate checks the input.
func (in KeyInput) Validate(now time.Time) error {
	var v errs.Violations
	if utf8.RuneCountInString(in.Name) > 200 {
		v.Add("name", "must be at most 200 characters")
	}
	switch in.Role {
	case auth.Admin, auth.Provisioner, auth.Collector:
		if in.CustomerID != "" {
			v.Add("customer_id", "only a customer key is bound to a customer")
		}
	case auth.Customer:
		if in.CustomerID == "" {
			v.Add("customer_id", "a customer key needs its customer")
		}
	default:
		v.Add("role", "must be admin, provisioner, collector or customer")
	}
	if len(in.Key) > 255 {
		v.Add("idempotency_key", "must be at most 255 characters")
	}
	if !in.ExpireTime.IsZero() && !in.ExpireTime.After(now) {
		v.Add("expire_time", "must be in the future")
	}
	return v.Err()
}

// CreateKey creates a key and returns it with its token, which is never
// stored.
func (s *Service) CreateKey(ctx context.Context, in KeyInput) (APIKey, string, error) {
	now := s.clock.Now()
	if err := in.Validate(now); err != nil {
		return APIKey{}, "", err
	}
	if in.CustomerID != "" {
		if _, err := s.store.GetCustomer(ctx, in.CustomerID); errs.Is(err, errs.NotFound) {
			return APIKey{}, "", errs.Field("customer_id", "customer %q does not exist", shortID(in.CustomerID))
		} else if err != nil {
			return APIKey{}, "", err
		}
	}
	id := strings.TrimPrefix(ids.New("key"), "key_")
	token := auth.NewToken(id)
	_, secret, _ := auth.Parse(token)
	k := APIKey{ID: id, Name: in.Name, Role: in.Role, CustomerID: in.CustomerID, Hash: auth.Hash(secret),
		CreateTime: now, ExpireTime: in.ExpireTime, RequestKey: in.Key}
	err := s.store.CreateKey(ctx, k)
	if errs.Is(err, errs.AlreadyExists) && in.Key != "" {
		// A retry, or a concurrent twin: answer the key it created.
		k, err = s.store.KeyByRequest(ctx, in.Key)
		if err == nil && (k.Name != in.Name || k.Role != in.Role || k.CustomerID != in.CustomerID || !k.ExpireTime.Equal(in.ExpireTime)) {
			return APIKey{}, "", errs.New(errs.FailedPrecondition, "idempotency key %q was used with a different request", in.Key)
		}
		return k, "", err
	}
	if err != nil {
		return APIKey{}, "", err
	}
	return k, token, nil
}

// EnsureAdminKey makes sure an admin can get in. With a preset token (the
// MP_ADMIN_KEY setting) it stores that key's hash unless it is stored
// already, and returns "". Without one it creates an admin key if no live
// admin key exists, and returns its token, to be shown once; else "".
func (s *Service) EnsureAdminKey(ctx context.Context, preset string) (string, error) {
	now := s.clock.Now()
	if preset != "" {
		id, secret, err := auth.Parse(preset)
		if err != nil || id == auth.ServiceKeyID {
			return "", errs.New(errs.Invalid, "the preset admin key must look like mp_<key id>_<secret of 32 or more letters and digits>, and its key id may not be %q", auth.ServiceKeyID)
		}
		k, err := s.store.GetKey(ctx, id)
		switch {
		case errs.Is(err, errs.NotFound):
			return "", s.store.CreateKey(ctx, APIKey{ID: id, Name: "preset admin key", Role: auth.Admin, Hash: auth.Hash(secret), CreateTime: now})
		case err != nil:
			return "", err
		case k.Role != auth.Admin || !auth.Matches(k.Hash, secret):
			return "", errs.New(errs.FailedPrecondition, "the preset admin key's id %q names another key", id)
		}
		return "", nil
	}
	has, err := s.store.HasLiveAdminKey(ctx, now)
	if err != nil || has {
		return "", err
	}
	_, token, err := s.CreateKey(ctx, KeyInput{Name: "first admin key", Role: auth.Admin})
	return token, err
}

// ListKeys lists keys by id.
func (s *Service) ListKeys(ctx context.Context, pr page.Request) (page.Page[APIKey], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[APIKey]{}, err
	}
	after, limit := pr.Cursor()
	keys, err := s.store.ListKeys(ctx, after, limit+1)
	if err != nil {
		return page.Page[APIKey]{}, err
	}
	return page.New(keys, limit, func(k APIKey) string { return k.ID }), nil
}

// ExpireKey makes a key stop working at at (now if zero), unless it
// expires sooner already.
func (s *Service) ExpireKey(ctx context.Context, id string, at time.Time) (APIKey, error) {
	now := s.clock.Now()
	if at.IsZero() || at.Before(now) {
		at = now
	}
	return s.changeKey(ctx, id, func(k *APIKey) {
		if k.ExpireTime.IsZero() || at.Before(k.ExpireTime) {
			k.ExpireTime = at
		}
	})
}

// RevokeKey stops a key for good; revoking again changes nothing.
func (s *Service) RevokeKey(ctx context.Context, id string) (APIKey, error) {
	now := s.clock.Now()
	return s.changeKey(ctx, id, func(k *APIKey) {
		if k.RevokeTime.IsZero() {
			k.RevokeTime = now
		}
	})
}

func (s *Service) changeKey(ctx context.Context, id string, change func(*APIKey)) (APIKey, error) {
	if !auth.ValidKeyID(id) {
		return APIKey{}, errs.Field("key_id", "must be 1 to 40 lower-case letters, digits and hyphens")
	}
	var k APIKey
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if k, err = s.store.LockKey(ctx, id); err != nil {
			return err
		}
		change(&k)
		return s.store.UpdateKey(ctx, k)
	})
	if err == nil && s.keyChanged != nil {
		s.keyChanged(id)
	}
	return k, err
}

// OnKeyChange registers f, called with a key's id after the key is
// expired or revoked: a cache of verified keys forgets it at once.
func (s *Service) OnKeyChange(f func(keyID string)) { s.keyChanged = f }

// VerifyKey returns the live key of a token and, for a customer key, the
// customers it sees: its own and, for a reseller, its children's. A
// malformed, unknown, expired or revoked token is Unauthenticated, all
// alike.
func (s *Service) VerifyKey(ctx context.Context, token string) (APIKey, []string, error) {
	id, secret, err := auth.Parse(token)
	if err != nil {
		return APIKey{}, nil, err
	}
	k, err := s.store.GetKey(ctx, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return APIKey{}, nil, err
	}
	// The hash is compared even for an unknown key, so that the time of
	// an answer tells nothing.
	ok := auth.Matches(k.Hash, secret) && err == nil
	if !ok || !k.Live(s.clock.Now()) {
		return APIKey{}, nil, errs.New(errs.Unauthenticated, "invalid, expired or revoked API key %s%s_…", auth.Prefix, id)
	}
	if k.Role != auth.Customer {
		return k, nil, nil
	}
	children, err := s.store.ChildIDs(ctx, k.CustomerID)
	if err != nil {
		return APIKey{}, nil, err
	}
	return k, append([]string{k.CustomerID}, children...), nil
}
