// Package migrations holds the catalog's versioned schema changes, applied
// in order by storage.DB.Migrate.
package migrations

import "embed"

// FS holds the migration files NNNN_name.sql.
//
//go:embed *.sql
var FS embed.FS
