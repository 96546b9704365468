package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/storage"
)

type idempotencyRow struct {
	Method         string
	Caller         string
	IdempotencyKey string
	RequestHash    []byte
	Response       []byte
	Completed      bool
	Claim          string
	CreatedAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// idempotencyLease is how long a call's claim of an idempotency key holds
// while its handler runs: a call with the same key waits for the claimer
// until then, and takes the key over after it (the claimer is deemed dead).
const idempotencyLease = 30 * time.Second

// idempotency makes every call whose request has a non-empty
// idempotency_key field replayable, without holding a transaction while
// the handler runs:
//
//  1. The call claims the key: it writes the key in flight, with the
//     request's hash, in a statement of its own.
//  2. If the key is taken, a completed answer is replayed (or, for another
//     request, refused with FailedPrecondition); a call in flight is waited
//     for, polling with backoff, until it completes, fails (then this call
//     claims the key and runs) or outlives its lease (then this call takes
//     the key over).
//  3. The handler runs outside any transaction the interceptor holds; it
//     opens its own where it needs one. While it runs, its claim is renewed
//     every third of the lease, so only a dead claimer's key is taken over.
//  4. A successful answer is stored with the key; a failed call releases
//     the key and stores nothing, so its retry runs again.
//
// Methods in own (Service.OwnKeys) are left to their handlers.
type idempotency struct {
	dbOf  map[string]*storage.DB
	own   map[string]bool
	lease time.Duration
}

// idemCall is one idempotent call: its method, caller (the key id of its
// API key; keys are scoped to callers), key and request hash.
type idemCall struct {
	db     *storage.DB
	method string
	caller string
	key    string
	hash   []byte
}

func (i idempotency) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, ok := req.(proto.Message)
		if !ok || i.own[info.FullMethod] {
			return handler(ctx, req)
		}
		key := idempotencyKey(msg)
		service, _, _ := strings.Cut(strings.TrimPrefix(info.FullMethod, "/"), "/")
		db := i.dbOf[service]
		if key == "" || db == nil {
			return handler(ctx, req)
		}
		if len(key) > 255 {
			return nil, errs.Field("idempotency_key", "must be at most 255 characters")
		}
		hash, err := requestHash(msg)
		if err != nil {
			return nil, err
		}
		caller, _ := auth.FromContext(ctx)
		c := idemCall{db: db, method: info.FullMethod, caller: caller.KeyID, key: key, hash: hash}
		claim, resp, err := c.claim(ctx, i.lease)
		if err != nil || resp != nil {
			return resp, err
		}
		// The outcome is recorded even if the client has gone.
		after := context.WithoutCancel(ctx)
		stop := c.keepClaim(after, claim, i.lease/3)
		resp, err = handler(ctx, req)
		stop()
		if err != nil {
			if rerr := c.release(after, claim); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			return nil, err
		}
		if err := c.complete(after, claim, resp.(proto.Message)); err != nil {
			return nil, err
		}
		return resp, nil
	}
}

func (c idemCall) where(db *gorm.DB) *gorm.DB {
	return db.Model(&idempotencyRow{}).Where("method = ? AND caller = ? AND idempotency_key = ?", c.method, c.caller, c.key)
}

// claim claims the call's key and returns the claim token, or returns the
// stored answer of the call that completed with the key.
func (c idemCall) claim(ctx context.Context, lease time.Duration) (string, any, error) {
	backoff := 5 * time.Millisecond
	for {
		claim := ids.New("claim")
		res := c.db.OutsideTx(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&idempotencyRow{
			Method: c.method, Caller: c.caller, IdempotencyKey: c.key, RequestHash: c.hash, Response: []byte{},
			Completed: false, Claim: claim, CreatedAt: time.Now().UTC(),
		})
		if res.Error != nil || res.RowsAffected == 1 {
			return claim, nil, res.Error
		}
		var row idempotencyRow
		res = c.where(c.db.OutsideTx(ctx)).Limit(1).Find(&row)
		switch {
		case res.Error != nil:
			return "", nil, res.Error
		case res.RowsAffected == 0:
			continue // released in the meantime: claim it
		case !bytes.Equal(row.RequestHash, c.hash):
			return "", nil, errs.New(errs.FailedPrecondition, "idempotency key %q was used with a different request", c.key)
		case row.Completed:
			resp, err := replay(c.method, row)
			return "", resp, err
		case time.Since(row.CreatedAt) > lease:
			res = c.where(c.db.OutsideTx(ctx)).Where("claim = ? AND completed = ?", row.Claim, false).
				Updates(map[string]any{"claim": claim, "created_at": time.Now().UTC()})
			if res.Error != nil || res.RowsAffected == 1 {
				return claim, nil, res.Error
			}
			continue
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// keepClaim renews the call's claim every period while its handler runs,
// so that only a claimer that died loses its key to a waiting call; the
// returned function stops the renewal.
func (c idemCall) keepClaim(ctx context.Context, claim string, period time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				c.where(c.db.OutsideTx(ctx)).Where("claim = ? AND completed = ?", claim, false).
					Update("created_at", time.Now().UTC())
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// complete stores the answer under the key the call claimed.
func (c idemCall) complete(ctx context.Context, claim string, resp proto.Message) error {
	out, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	return c.where(c.db.OutsideTx(ctx)).Where("claim = ?", claim).
		Updates(map[string]any{"response": out, "completed": true, "created_at": time.Now().UTC()}).Error
}

// release gives up the key the call claimed.
func (c idemCall) release(ctx context.Context, claim string) error {
	return c.where(c.db.OutsideTx(ctx)).Where("claim = ? AND completed = ?", claim, false).Delete(&idempotencyRow{}).Error
}

func replay(method string, row idempotencyRow) (any, error) {
	out, err := responseType(method)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(row.Response, out); err != nil {
		return nil, err
	}
	return out, nil
}

func idempotencyKey(m proto.Message) string {
	fd := m.ProtoReflect().Descriptor().Fields().ByName("idempotency_key")
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.ProtoReflect().Get(fd).String()
}

// requestHash fingerprints the request without its idempotency key.
func requestHash(m proto.Message) ([]byte, error) {
	c := proto.Clone(m)
	c.ProtoReflect().Clear(c.ProtoReflect().Descriptor().Fields().ByName("idempotency_key"))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// responseType returns a new response message of the gRPC method
// "/package.Service/Method".
func responseType(fullMethod string) (proto.Message, error) {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil, err
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, errors.New("not a method: " + string(name))
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}
