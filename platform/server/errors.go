package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
)

// codeOf is the one table from domain error kinds to gRPC codes.
var codeOf = map[errs.Kind]codes.Code{
	errs.Invalid:            codes.InvalidArgument,
	errs.NotFound:           codes.NotFound,
	errs.AlreadyExists:      codes.AlreadyExists,
	errs.FailedPrecondition: codes.FailedPrecondition,
	errs.Conflict:           codes.Aborted,
	errs.ResourceExhausted:  codes.ResourceExhausted,
	errs.Unauthenticated:    codes.Unauthenticated,
	errs.PermissionDenied:   codes.PermissionDenied,
}

// toStatus turns any error a handler returns into the status the client
// sees. Domain errors keep their message; InvalidArgument carries the field
// violations as google.rpc.BadRequest. Every other error is logged with the
// trace id and leaves with a neutral message.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var de *errs.Error
	if errors.As(err, &de) && de.Kind != errs.Internal {
		st := status.New(codeOf[de.Kind], de.Error())
		if len(de.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range de.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
			}
			if withDetails, derr := st.WithDetails(br); derr == nil {
				st = withDetails
			}
		}
		return st.Err()
	}
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	log.ErrorContext(ctx, "internal error", "method", method, "trace_id", traceID, "err", err)
	return status.Errorf(codes.Internal, "internal error (trace %s)", traceID)
}

func recovered(p any) error {
	return fmt.Errorf("panic: %v\n%s", p, debug.Stack())
}

// UnaryErrors is the interceptor that maps every handler error to its gRPC
// status and turns panics into Internal errors. The server installs it;
// tests of a service's handlers install it on their own gRPC server.
func UnaryErrors(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(p)
			}
			err = toStatus(ctx, log, info.FullMethod, err)
		}()
		return handler(ctx, req)
	}
}

// streamErrors is unaryErrors for streaming calls.
func streamErrors(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(p)
			}
			err = toStatus(ss.Context(), log, info.FullMethod, err)
		}()
		return handler(srv, ss)
	}
}
