// Package migrations holds the invoice service's schema changes.
package migrations

import "embed"

// FS holds the migrations, applied in name order by storage.DB.Migrate.
//
//go:embed *.sql
var FS embed.FS
