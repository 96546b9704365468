package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// migratedTables are the services the all-in-one binary hosts, each with a
// table of its own schema.
var migratedTables = map[string]string{
	"catalog": "features", "subscription": "subscriptions", "metering": "events", "quota": "quota_allocations", "invoice": "invoices",
}

// migrateOnly runs the binary with --migrate-only and env, on gRPC and HTTP
// addresses that are taken already: it must neither listen nor serve, only
// migrate and exit 0.
func migrateOnly(t *testing.T, env ...string) {
	t.Helper()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--migrate-only")
	cmd.Env = append(os.Environ(), "MP_GRPC_ADDR="+taken.Addr().String(), "MP_HTTP_ADDR="+taken.Addr().String(), "REDIS_URL=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("meterplane --migrate-only: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "schemas migrated") {
		t.Errorf("meterplane --migrate-only logged no migration:\n%s", out)
	}
}

func TestMigrateOnlySQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	migrateOnly(t, "DATABASE_URL=", "MP_DATA_DIR="+dir)
	for svc, table := range migratedTables {
		db, err := sql.Open("sqlite", filepath.Join(dir, svc+".db"))
		if err != nil {
			t.Fatal(err)
		}
		var migrations, tables int
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&tables); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
		db.Close()
		if migrations == 0 || tables != 1 {
			t.Errorf("%s.db: %d migrations applied, table %s found %d times; want some and 1", svc, migrations, table, tables)
		}
	}
}

func TestMigrateOnlyPostgres(t *testing.T) {
	t.Parallel()
	admin, err := sql.Open("pgx", storagetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("migrate_only_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres (tests never skip): %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(storagetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	// Twice: a second run (the next release's hook) finds nothing to do.
	migrateOnly(t, "DATABASE_URL="+u.String())
	migrateOnly(t, "DATABASE_URL="+u.String())

	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for svc, table := range migratedTables {
		var migrations, tables int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM `+svc+`.schema_migrations`).Scan(&migrations); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
			svc, table).Scan(&tables); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
		if migrations == 0 || tables != 1 {
			t.Errorf("schema %s: %d migrations applied, table %s found %d times; want some and 1", svc, migrations, table, tables)
		}
	}
}
