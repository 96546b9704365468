package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
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
	errs.Unavailable:        codes.Unavailable,
}

// maxMessage bounds the message of a status the server sends, so that an
// error never echoes a huge input back.
const maxMessage = 1024

// toStatus turns any error a handler returns into the status the client
// sees. Domain errors keep their message (cut at maxMessage);
// InvalidArgument carries the field violations as google.rpc.BadRequest.
// A gRPC status from a Meterplane method is a peer's error that its
// adapter did not map: like every other error, and like a domain error
// of a kind the table lacks, it is logged with the trace id and leaves as
// Internal with a neutral message. Cancellation and deadlines keep their
// codes; the statuses of the generic services (health, reflection) and
// Unimplemented pass through.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled:
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	if st, ok := status.FromError(err); ok && (!strings.HasPrefix(method, "/meterplane.") || st.Code() == codes.Unimplemented) {
		return err
	}
	var de *errs.Error
	if code, known := codeOf[errs.KindOf(err)]; errors.As(err, &de) && known {
		st := status.New(code, truncate(de.Error(), maxMessage))
		if len(de.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range de.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: truncate(v.Field, maxMessage), Description: truncate(v.Description, maxMessage)})
			}
			if withDetails, derr := st.WithDetails(br); derr == nil {
				st = withDetails
			}
		}
		return st.Err()
	}
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	if storage.Unreachable(err) {
		log.WarnContext(ctx, "database unavailable", "method", method, "trace_id", traceID, "err", err)
		return status.Errorf(codes.Unavailable, "the database is unavailable; retry later (trace %s)", traceID)
	}
	log.ErrorContext(ctx, "internal error", "method", method, "trace_id", traceID, "err", err)
	return status.Errorf(codes.Internal, "internal error (trace %s)", traceID)
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max-len("…")], "") + "…"
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
