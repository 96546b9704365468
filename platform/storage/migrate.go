package storage

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+(\.postgres)?\.sql$`)

//go:embed platform/*.sql
var platformFS embed.FS

// OpenService opens the service's database, applies the platform's own
// migrations (outbox, inbox, idempotency keys; recorded in
// platform_migrations) and then the service's (recorded in
// schema_migrations). Every service opens its database this way.
func OpenService(ctx context.Context, o Options, migrations fs.FS) (*DB, error) {
	db, err := Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, "platform_migrations", PlatformMigrations()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// PlatformMigrations are the migrations of the tables the platform keeps
// in every service's database.
func PlatformMigrations() fs.FS {
	sub, _ := fs.Sub(platformFS, "platform")
	return sub
}

// Migrate applies, in order and each in its own transaction, the files
// NNNN_name.sql of migrations that this database has not applied yet, and
// records them in schema_migrations. A file named NNNN_name.postgres.sql
// holds PostgreSQL-only tuning: on SQLite it is recorded without running.
//
// The SQL is written once for both engines. On SQLite two types are
// rewritten: TIMESTAMPTZ becomes DATETIME, the type the driver reads back as
// time, BYTEA becomes BLOB, and NUMERIC (with or without precision) becomes TEXT, because
// SQLite's NUMERIC affinity would turn "12345678901234567.89" into a lossy
// float. Decimal arithmetic on SQLite therefore happens in Go, not in SQL.
// A table's PARTITION BY RANGE (…) clause is dropped: SQLite tables are not
// partitioned. COLLATE "C" (byte order, for identifiers: PostgreSQL then
// compares them without the locale) becomes SQLite's COLLATE BINARY, the
// same order.
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) error {
	return db.migrate(ctx, "schema_migrations", migrations)
}

func (db *DB) migrate(ctx context.Context, table string, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	g := db.gorm.WithContext(ctx)
	if err := g.Exec(`CREATE TABLE IF NOT EXISTS ` + table + ` (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + db.timestampType() + ` NOT NULL)`).Error; err != nil {
		return fmt.Errorf("storage: create %s: %w", table, err)
	}
	for _, name := range names {
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return fmt.Errorf("storage: migration %q is not named NNNN_name.sql", name)
		}
		version, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		err = g.Transaction(func(tx *gorm.DB) error {
			if db.dialect == Postgres {
				// One migrator per schema at a time, across replicas.
				if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockID(db.schema+"."+table)).Error; err != nil {
					return err
				}
			}
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM "+table+" WHERE version = ?", version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if m[2] == "" || db.dialect == Postgres {
				if err := tx.Exec(db.dialectSQL(string(body))).Error; err != nil {
					return err
				}
			}
			return tx.Exec("INSERT INTO "+table+" (version, name, applied_at) VALUES (?, ?, ?)",
				version, name, time.Now().UTC()).Error
		})
		if err != nil {
			return fmt.Errorf("storage: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) timestampType() string {
	if db.dialect == SQLite {
		return "DATETIME"
	}
	return "TIMESTAMPTZ"
}

var (
	numericType = regexp.MustCompile(`\bNUMERIC(\s*\(\s*\d+\s*(,\s*\d+\s*)?\))?`)
	partitionBy = regexp.MustCompile(`\s*PARTITION BY RANGE\s*\([^)]*\)`)
)

func (db *DB) dialectSQL(sql string) string {
	if db.dialect == SQLite {
		sql = strings.NewReplacer("TIMESTAMPTZ", "DATETIME", "BYTEA", "BLOB", `COLLATE "C"`, "COLLATE BINARY",
			"BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT").Replace(sql)
		sql = partitionBy.ReplaceAllString(sql, "")
		return numericType.ReplaceAllString(sql, "TEXT")
	}
	return sql
}

func lockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("meterplane-migrate:" + schema))
	return int64(h.Sum64() >> 1)
}
