// Package migrations holds the subscription service's schema changes.
package migrations

import "embed"

// FS holds the migrations, applied in name order by storage.DB.Migrate.
//
//go:embed *.sql
var FS embed.FS
