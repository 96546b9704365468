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

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
)

type idempotencyRow struct {
	Method         string
	IdempotencyKey string
	RequestHash    []byte
	Response       []byte
	CreatedAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// unaryIdempotency makes every call whose request has a non-empty
// idempotency_key field replayable. The handler runs in a transaction of its
// service's database carried in the context, and its response is stored in
// the same transaction: a retry with the same key and request gets the
// stored response, a retry with the same key and another request is refused,
// and a failed call stores nothing, so its retry runs again.
func unaryIdempotency(dbOf map[string]*storage.DB) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, ok := req.(proto.Message)
		if !ok {
			return handler(ctx, req)
		}
		key := idempotencyKey(msg)
		service, _, _ := strings.Cut(strings.TrimPrefix(info.FullMethod, "/"), "/")
		db := dbOf[service]
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
		var resp any
		err = db.InTx(ctx, func(ctx context.Context) error {
			var row idempotencyRow
			err := db.Conn(ctx).Where("method = ? AND idempotency_key = ?", info.FullMethod, key).Limit(1).Find(&row).Error
			if err != nil {
				return err
			}
			if row.Method != "" {
				resp, err = replay(info.FullMethod, row, hash)
				return err
			}
			if resp, err = handler(ctx, req); err != nil {
				return err
			}
			out, err := proto.Marshal(resp.(proto.Message))
			if err != nil {
				return err
			}
			return db.Conn(ctx).Create(&idempotencyRow{Method: info.FullMethod, IdempotencyKey: key, RequestHash: hash, Response: out, CreatedAt: time.Now().UTC()}).Error
		})
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			// A concurrent call with the same key won; answer with its response.
			var row idempotencyRow
			if ferr := db.Conn(ctx).Where("method = ? AND idempotency_key = ?", info.FullMethod, key).Take(&row).Error; ferr != nil {
				return nil, ferr
			}
			return replay(info.FullMethod, row, hash)
		}
		return resp, err
	}
}

func replay(method string, row idempotencyRow, hash []byte) (any, error) {
	if !bytes.Equal(row.RequestHash, hash) {
		return nil, errs.New(errs.FailedPrecondition, "idempotency key %q was used with a different request", row.IdempotencyKey)
	}
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
