package storage

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unreachable reports whether err says the database could not be reached
// or refused a connection for now (too many clients, starting up, shutting
// down): a condition of the server, not of the request, that a retry may
// outlast.
func Unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "53300", "57P01", "57P02", "57P03": // too_many_connections, admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
	}
	return false
}
