package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestDatabaseUnavailable: a database that refuses connections for now is
// Unavailable, which the client may retry; other database errors are
// Internal.
func TestDatabaseUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("store: %w", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}), codes.Unavailable},
		{fmt.Errorf("store: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}), codes.Unavailable},
		{fmt.Errorf("store: %w", &pgconn.PgError{Code: "23505", Message: "duplicate key"}), codes.Internal},
		{errors.New("store: broken"), codes.Internal},
	} {
		got := toStatus(context.Background(), slog.New(slog.DiscardHandler), "/meterplane.quota.v1.QuotaService/Reserve", tc.err)
		if status.Code(got) != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}
