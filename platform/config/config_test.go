package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.GRPCAddr != "127.0.0.1:9090" || c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "data" || c.ShutdownTimeout != 15*time.Second || c.LogFormat != "json" {
		t.Errorf("defaults = %+v", c)
	}
	if c.MaxRequestBytes != 16<<20 || c.IdempotencyRetention != 720*time.Hour {
		t.Errorf("default limits = %d bytes, %v retention", c.MaxRequestBytes, c.IdempotencyRetention)
	}
	if _, err := Load([]string{"--help"}, env(nil)); !errors.Is(err, ErrHelp) {
		t.Errorf("--help: error = %v, want ErrHelp", err)
	}

	c, err = Load([]string{"--grpc-addr", "127.0.0.1:1", "--demo"}, env(map[string]string{"MP_GRPC_ADDR": "127.0.0.1:2", "MP_HTTP_ADDR": "127.0.0.1:3"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != "127.0.0.1:1" || c.HTTPAddr != "127.0.0.1:3" || !c.Demo {
		t.Errorf("flags must override env, env must override defaults: %+v", c)
	}

	c, err = Load([]string{"--metering-addr", "metering:9090"}, env(map[string]string{"MP_SUBSCRIPTION_ADDR": "subscription:9090"}))
	if err != nil || c.MeteringAddr != "metering:9090" || c.SubscriptionAddr != "subscription:9090" {
		t.Errorf("peer addresses: %+v, %v", c, err)
	}
	if c, err := Load(nil, env(map[string]string{"MP_METERING_ADDR": "m:1"})); err != nil || c.MeteringAddr != "m:1" {
		t.Errorf("MP_METERING_ADDR: %q, %v", c.MeteringAddr, err)
	}

	for _, u := range []string{"redis://127.0.0.1:6379/2", "rediss://r:6380/0", "redis+cluster://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003", "rediss+cluster://r1:6380?addr=r2:6380"} {
		if c, err := Load(nil, env(map[string]string{"REDIS_URL": u})); err != nil || c.RedisURL != u {
			t.Errorf("REDIS_URL %s: %q, %v; want it accepted", u, c.RedisURL, err)
		}
	}

	for _, tc := range []struct {
		name, want string
		env        map[string]string
		args       []string
	}{
		{name: "a database URL that is not PostgreSQL is refused", env: map[string]string{"DATABASE_URL": "mysql://x"}, want: "DATABASE_URL"},
		{name: "a Redis URL that is not redis:// is refused", env: map[string]string{"REDIS_URL": "http://x"}, want: "REDIS_URL"},
		{name: "a listen address without port is refused", args: []string{"--http-addr", "localhost"}, want: "HTTP address"},
		{name: "a metering address without port is refused", env: map[string]string{"MP_METERING_ADDR": "metering"}, want: "metering address"},
		{name: "an unknown log level is refused", args: []string{"--log-level", "loud"}, want: "log level"},
		{name: "an unknown log format is refused", env: map[string]string{"MP_LOG_FORMAT": "xml"}, want: "log format"},
		{name: "a tiny request limit is refused", env: map[string]string{"MP_MAX_REQUEST_BYTES": "10"}, want: "max request bytes"},
		{name: "a request limit that is not a number is refused", args: []string{"--max-request-bytes", "16MB"}, want: "max request bytes"},
		{name: "an idempotency retention that is not a duration is refused", args: []string{"--idempotency-retention", "30d"}, want: "idempotency retention"},
		{name: "a negative shutdown timeout is refused", args: []string{"--shutdown-timeout", "-1s"}, want: "shutdown timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tc.args, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	c := Config{DatabaseURL: "postgres://app:s3cret@db:5432/mp?password=other", RedisURL: "redis://:hunter2@redis:6379/0"}
	out := c.LogValue().String()
	for _, secret := range []string{"s3cret", "other", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("logged config shows secret %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "app:xxxxx@db:5432") {
		t.Errorf("logged config lost the host: %s", out)
	}
}

func TestMigrateOnly(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, false},
		{[]string{"--migrate-only"}, nil, true},
		{nil, map[string]string{"MP_MIGRATE_ONLY": "true"}, true},
		{[]string{"--migrate-only=false"}, map[string]string{"MP_MIGRATE_ONLY": "true"}, false},
	} {
		c, err := Load(tc.args, env(tc.env))
		if err != nil || c.MigrateOnly != tc.want {
			t.Errorf("Load(%q, %v): MigrateOnly = %v, %v; want %v", tc.args, tc.env, c.MigrateOnly, err, tc.want)
		}
	}
	if _, err := Load(nil, env(map[string]string{"MP_MIGRATE_ONLY": "yes please"})); err == nil || !strings.Contains(err.Error(), "MP_MIGRATE_ONLY") {
		t.Errorf("MP_MIGRATE_ONLY=yes please: error %v, want one naming MP_MIGRATE_ONLY", err)
	}
}
