// Package storagetest gives each test a fresh, migrated database: a file
// in a temporary directory for SQLite, or a PostgreSQL database cloned from
// a migrated template. PostgreSQL is found through TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/postgres); when it does not
// answer the test fails, it never skips.
package storagetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/meterplane/meterplane/platform/storage"
)

// Each runs fn as two subtests, "sqlite" and "postgres", each on its own
// fresh database migrated with the platform's migrations and migrations.
func Each(t *testing.T, service string, migrations fs.FS, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t, service, migrations))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t, service, migrations))
	})
}

// SQLite returns a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB, service string, migrations fs.FS) *storage.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.OpenService(ctx, storage.Options{Service: service, Dir: t.TempDir()}, migrations)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// AdminURL is the PostgreSQL server the tests use.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var templates sync.Map // template name → *sync.Once-guarded result

type templateResult struct {
	once sync.Once
	err  error
}

// Postgres returns a fresh PostgreSQL database, cloned from a template that
// was migrated once per set of migrations, and drops it when the test ends.
func Postgres(t testing.TB, service string, migrations fs.FS) *storage.DB {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("postgres at %s does not answer (start it; tests never skip): %v", AdminURL(), err)
	}

	tmpl, err := templateName(service, migrations)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := templates.LoadOrStore(tmpl, &templateResult{})
	res := r.(*templateResult)
	res.once.Do(func() { res.err = createTemplate(ctx, admin, tmpl, service, migrations) })
	if res.err != nil {
		t.Fatalf("postgres template: %v", res.err)
	}

	name := fmt.Sprintf("t_%s_%s", service, randomSuffix())
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("clone template: %v", err)
	}
	db, err := storage.Open(ctx, storage.Options{Service: service, URL: databaseURL(name)})
	if err != nil {
		t.Fatalf("open clone: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		dropDatabase(name)
	})
	return db
}

// createTemplate migrates a template database unless another test process
// already did. The name carries a hash of the migrations, so a changed
// migration gets a new template.
func createTemplate(ctx context.Context, admin *sql.DB, tmpl, service string, migrations fs.FS) error {
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Serialise template creation across test processes.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(727274)")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tmpl).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := tmpl + "_building"
	conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return err
	}
	db, err := storage.OpenService(ctx, storage.Options{Service: service, URL: databaseURL(building)}, migrations)
	if err != nil {
		return err
	}
	db.Close()
	_, err = conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+tmpl)
	return err
}

func templateName(service string, migrations fs.FS) (string, error) {
	h := sha256.New()
	for _, set := range []fs.FS{storage.PlatformMigrations(), migrations} {
		names, err := fs.Glob(set, "*.sql")
		if err != nil {
			return "", err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := fs.ReadFile(set, n)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s\x00%s\x00", n, b)
		}
	}
	return fmt.Sprintf("tmpl_%s_%s", service, hex.EncodeToString(h.Sum(nil))[:12]), nil
}

func databaseURL(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// EmptyPostgres creates an empty PostgreSQL database, returns its URL for
// services to open and migrate themselves, and drops it when the test ends.
func EmptyPostgres(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	name := "t_empty_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres at %s: create database (start it; tests never skip): %v", AdminURL(), err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	return databaseURL(name)
}

// dropDatabase drops a test's database, closing its connections; a
// failure leaves it for the server's owner, as the test is over.
func dropDatabase(name string) {
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return
	}
	defer admin.Close()
	admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}
