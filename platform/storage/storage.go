// Package storage opens a service's database through gorm, on PostgreSQL or
// on an embedded SQLite file, applies the service's versioned migrations,
// and carries transactions in the context.
//
// Each service owns its tables: in PostgreSQL each service lives in its own
// schema (named after the service, set as the connection's search_path); in
// SQLite each service has its own database file.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The supported engines.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is one service's database.
type DB struct {
	gorm    *gorm.DB
	dialect Dialect
	schema  string
}

// Options says where a service's database is.
type Options struct {
	// Service names the owning service: the PostgreSQL schema or the SQLite
	// file name. Lower case letters and underscores.
	Service string
	// URL is a PostgreSQL URL (postgres://…). Empty selects SQLite in Dir.
	URL string
	// Dir is the directory of the SQLite files.
	Dir string
	// MaxConns bounds the PostgreSQL connection pool; 0 means 10. (SQLite
	// has one connection.)
	MaxConns int
	// CustomPlans makes PostgreSQL plan every execution of a prepared
	// statement for its parameters (plan_cache_mode=force_custom_plan),
	// for services whose statements carry lists of hundreds of ids
	// (`customer_id IN (?, …)`): a generic plan cannot hash such a list
	// and compares every row with every id, 50 to 100 times slower at
	// 10,000 rows (measured: docs/benchmarks.md, Invoice).
	CustomPlans bool
}

var serviceName = regexp.MustCompile(`^[a-z][a-z_]*$`)

// Open connects to the service's database, creating its schema or file if
// needed. It does not migrate; call Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if !serviceName.MatchString(o.Service) {
		return nil, fmt.Errorf("storage: bad service name %q", o.Service)
	}
	cfg := &gorm.Config{Logger: logger.Discard, TranslateError: true, SkipDefaultTransaction: true}
	if o.URL == "" {
		if err := os.MkdirAll(o.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("storage: create data dir: %w", err)
		}
		path := filepath.Join(o.Dir, o.Service+".db")
		// The write-ahead log is copied back into the file every 10,000
		// pages (40 MB) instead of SQLite's default 1,000: a checkpoint
		// writes and syncs every page changed since the last, and batches
		// of events change hundreds, so fewer checkpoints share them
		// (ingestion about 18% faster, docs/benchmarks.md).
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(10000)"
		g, err := gorm.Open(sqlite.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("storage: open sqlite %s: %w", path, err)
		}
		if err := g.Use(newTracing(SQLite)); err != nil {
			return nil, fmt.Errorf("storage: tracing: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		// SQLite has one writer; one connection turns lock contention into
		// queueing instead of SQLITE_BUSY errors.
		sqlDB.SetMaxOpenConns(1)
		if err := sqlDB.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("storage: open sqlite %s: %w", path, err)
		}
		return &DB{gorm: g, dialect: SQLite}, nil
	}

	dsn, err := withSearchPath(o.URL, o.Service, o.CustomPlans)
	if err != nil {
		return nil, err
	}
	g, err := gorm.Open(postgres.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: open postgres: %w", err)
	}
	if err := g.Use(newTracing(Postgres)); err != nil {
		return nil, fmt.Errorf("storage: tracing: %w", err)
	}
	if err := g.WithContext(ctx).Exec("CREATE SCHEMA IF NOT EXISTS " + o.Service).Error; err != nil {
		return nil, fmt.Errorf("storage: create schema %s: %w", o.Service, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// A bounded pool queues a burst of calls in the process instead of
	// exhausting the server's max_connections, which every service and
	// replica share.
	n := o.MaxConns
	if n <= 0 {
		n = 10
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return &DB{gorm: g, dialect: Postgres, schema: o.Service}, nil
}

// withSearchPath adds search_path=<schema> to a PostgreSQL URL; pgx sends
// unknown URL parameters as run-time parameters of every connection.
func withSearchPath(raw, schema string, customPlans bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("storage: DATABASE_URL must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	if customPlans {
		q.Set("plan_cache_mode", "force_custom_plan")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

type txKey struct{ db *DB }

// tx is a transaction carried by a context; on PostgreSQL, conn is the
// connection it runs on, for Pgx.
type tx struct {
	gorm *gorm.DB
	conn *sql.Conn
}

// Conn returns the transaction carried by ctx for this database, or the
// database itself when ctx carries none. Stores run every query on it.
func (db *DB) Conn(ctx context.Context) *gorm.DB {
	if t, ok := ctx.Value(txKey{db}).(tx); ok {
		return t.gorm
	}
	return db.gorm.WithContext(ctx)
}

// OutsideTx returns the database itself, never a transaction ctx carries:
// for statements that must not join the caller's transaction, such as
// creating a partition that a concurrent caller may create too.
func (db *DB) OutsideTx(ctx context.Context) *gorm.DB { return db.gorm.WithContext(ctx) }

// InTx runs fn in a transaction carried by the context it is given. If ctx
// already carries a transaction of this database, fn joins it. The
// transaction commits when fn returns nil and rolls back otherwise. On
// PostgreSQL it runs on a connection taken from the pool for it, which
// Pgx lends.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{db}).(tx); ok {
		return fn(ctx)
	}
	if db.dialect != Postgres {
		return db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			return fn(context.WithValue(ctx, txKey{db}, tx{gorm: g}))
		})
	}
	return db.gorm.WithContext(ctx).Connection(func(c *gorm.DB) error {
		conn := c.Statement.ConnPool.(*sql.Conn)
		return c.Transaction(func(g *gorm.DB) error {
			return fn(context.WithValue(ctx, txKey{db}, tx{gorm: g, conn: conn}))
		})
	})
}

// ErrNoPgx is Pgx's answer outside a PostgreSQL transaction.
var ErrNoPgx = errors.New("storage: no PostgreSQL transaction in the context")

// Pgx runs fn with the pgx connection of the PostgreSQL transaction ctx
// carries, for what database/sql cannot express, such as COPY. What fn
// runs on it is part of the transaction; fn must not keep the connection.
func (db *DB) Pgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	t, ok := ctx.Value(txKey{db}).(tx)
	if !ok || t.conn == nil {
		return ErrNoPgx
	}
	return t.conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("storage: driver connection is a %T, not pgx's", driverConn)
		}
		return fn(c.Conn())
	})
}
