// Package config reads the settings every Meterplane binary shares from the
// environment and flags, with defaults that run the embedded system with
// nothing configured.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the shared configuration. Flags override the environment.
type Config struct {
	GRPCAddr        string        // MP_GRPC_ADDR, --grpc-addr
	HTTPAddr        string        // MP_HTTP_ADDR, --http-addr
	DataDir         string        // MP_DATA_DIR, --data-dir: SQLite files when DatabaseURL is empty
	DatabaseURL     string        // DATABASE_URL: PostgreSQL; empty for embedded SQLite
	RedisURL        string        // REDIS_URL: Redis or a Redis Cluster; empty for the in-process server
	LogLevel        slog.Level    // MP_LOG_LEVEL, --log-level
	LogFormat       string        // MP_LOG_FORMAT, --log-format: json (the default) or text
	ShutdownTimeout time.Duration // MP_SHUTDOWN_TIMEOUT, --shutdown-timeout
	OTLPEndpoint    string        // OTEL_EXPORTER_OTLP_ENDPOINT: traces and metrics over OTLP when set
	Demo            bool          // --demo: seed demo data at start
	// CatalogAddr is the catalog service's gRPC address, for services that
	// read plans; empty means the catalog in this process.
	CatalogAddr string // MP_CATALOG_ADDR, --catalog-addr
	// SubscriptionAddr is the subscription service's gRPC address, for
	// services that check customers; empty means this process.
	SubscriptionAddr string // MP_SUBSCRIPTION_ADDR, --subscription-addr
	// MeteringAddr is the metering service's gRPC address, for services
	// that read usage or report it; empty means this process.
	MeteringAddr string // MP_METERING_ADDR, --metering-addr
	// QuotaAddr and InvoiceAddr are the quota and invoice services' gRPC
	// addresses, for the gateway binary, which serves every service's
	// HTTP API from the services' own processes.
	QuotaAddr   string // MP_QUOTA_ADDR, --quota-addr
	InvoiceAddr string // MP_INVOICE_ADDR, --invoice-addr
	// CORSOrigins are the origins whose browser pages may call the HTTP
	// API (CORS); empty sends no CORS headers. "*" allows any origin.
	CORSOrigins []string // MP_CORS_ORIGINS, --cors-origins: comma-separated
	// HTTPRequestTimeout bounds each HTTP call of a unary route; past it
	// the call is cancelled and answered 504. Streaming routes (uploads,
	// downloads) are not bounded by it.
	HTTPRequestTimeout time.Duration // MP_HTTP_REQUEST_TIMEOUT, --http-request-timeout
	// QuotaReconcile is how often quota compares its counters in Redis
	// with metering's usage and corrects them.
	QuotaReconcile time.Duration // MP_QUOTA_RECONCILE_INTERVAL, --quota-reconcile-interval
	// RetentionMonths is how many months of raw usage events metering
	// keeps on PostgreSQL; 0 keeps them all.
	RetentionMonths int // MP_METERING_RETENTION_MONTHS, --metering-retention-months
	// MaxRequestBytes is the largest HTTP request body and gRPC message
	// the server accepts (and the largest gRPC message it sends).
	MaxRequestBytes int64 // MP_MAX_REQUEST_BYTES, --max-request-bytes
	// IdempotencyRetention is how long stored answers of idempotent calls
	// and records of consumed events are kept.
	IdempotencyRetention time.Duration // MP_IDEMPOTENCY_RETENTION, --idempotency-retention
	// DBMaxConns bounds each service's PostgreSQL connection pool; the
	// binary opens up to this many per service it hosts.
	DBMaxConns int // MP_DB_MAX_CONNS, --db-max-conns
	// InvoiceGrace is how long after a period ends a billing run waits
	// before it finalizes the period's draft invoices.
	InvoiceGrace time.Duration // MP_INVOICE_GRACE, --invoice-grace
	// InvoiceRequireComplete holds a draft until metering says its
	// period's usage is complete.
	InvoiceRequireComplete bool // MP_INVOICE_REQUIRE_COMPLETE, --invoice-require-complete
	// InvoiceRunInterval is how often the invoice service runs billing in
	// process.
	InvoiceRunInterval time.Duration // MP_INVOICE_RUN_INTERVAL, --invoice-run-interval
	// InvoiceSeller is the seller's name printed on invoice documents.
	InvoiceSeller string // MP_INVOICE_SELLER, --invoice-seller
	// PprofAddr, when set, serves Go's profiles (net/http/pprof) on a
	// listener of their own, never on the API's: for profiling only.
	PprofAddr string // MP_PPROF_ADDR, --pprof-addr
	// AdminKey, when set, is an admin API key the subscription service
	// stores (its hash) at start; when empty, a first start creates one
	// and prints it once.
	AdminKey string // MP_ADMIN_KEY (environment only: a secret)
	// ServiceKey is the credential the services present to each other.
	// Empty in a binary hosting every service: it makes a random one.
	// Services in separate processes must share one.
	ServiceKey string // MP_SERVICE_KEY (environment only: a secret)
	// TLSCert and TLSKey, when set, serve gRPC and HTTP over TLS; TLSCA is
	// the certificate authority the services trust when they call each
	// other over TLS (the system's when empty).
	TLSCert string // MP_TLS_CERT, --tls-cert: PEM file
	TLSKey  string // MP_TLS_KEY, --tls-key: PEM file
	TLSCA   string // MP_TLS_CA, --tls-ca: PEM file
	// MigrateOnly opens the binary's services, which migrates their
	// database schemas, closes them and exits, without serving or running
	// workers: the Helm chart's migration Job.
	MigrateOnly bool // MP_MIGRATE_ONLY, --migrate-only
}

// The defaults of the limits.
const (
	DefaultMaxRequestBytes      = 16 << 20
	DefaultIdempotencyRetention = 720 * time.Hour
	DefaultDBMaxConns           = 10
	DefaultQuotaReconcile       = 5 * time.Minute
	DefaultInvoiceGrace         = time.Hour
	DefaultInvoiceRunInterval   = time.Hour
	DefaultHTTPRequestTimeout   = 60 * time.Second
)

// ErrHelp is returned by Load when --help or -h was given; the usage has
// been printed.
var ErrHelp = flag.ErrHelp

// Load reads the configuration from getenv and args (without the program
// name) and validates it.
func Load(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var c Config
	var level, timeout string
	fs := flag.NewFlagSet("meterplane", flag.ContinueOnError)
	fs.StringVar(&c.GRPCAddr, "grpc-addr", env("MP_GRPC_ADDR", "127.0.0.1:9090"), "gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", env("MP_HTTP_ADDR", "127.0.0.1:8080"), "HTTP gateway listen address")
	fs.StringVar(&c.DataDir, "data-dir", env("MP_DATA_DIR", "data"), "directory of the embedded SQLite files")
	fs.StringVar(&level, "log-level", env("MP_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", env("MP_LOG_FORMAT", "json"), "log format: json (one object a line) or text")
	fs.StringVar(&timeout, "shutdown-timeout", env("MP_SHUTDOWN_TIMEOUT", "15s"), "longest graceful shutdown")
	fs.StringVar(&c.CatalogAddr, "catalog-addr", env("MP_CATALOG_ADDR", ""), "catalog gRPC address; empty for this process")
	fs.StringVar(&c.SubscriptionAddr, "subscription-addr", env("MP_SUBSCRIPTION_ADDR", ""), "subscription gRPC address; empty for this process")
	fs.StringVar(&c.MeteringAddr, "metering-addr", env("MP_METERING_ADDR", ""), "metering gRPC address; empty for this process")
	fs.StringVar(&c.QuotaAddr, "quota-addr", env("MP_QUOTA_ADDR", ""), "quota gRPC address, for the gateway")
	fs.StringVar(&c.InvoiceAddr, "invoice-addr", env("MP_INVOICE_ADDR", ""), "invoice gRPC address, for the gateway")
	var corsOrigins, requestTimeout string
	fs.StringVar(&corsOrigins, "cors-origins", env("MP_CORS_ORIGINS", ""), "comma-separated origins allowed to call the HTTP API from a browser; empty for none")
	fs.StringVar(&requestTimeout, "http-request-timeout", env("MP_HTTP_REQUEST_TIMEOUT", DefaultHTTPRequestTimeout.String()), "longest HTTP call of a unary route, answered 504 past it")
	var reconcile string
	fs.StringVar(&reconcile, "quota-reconcile-interval", env("MP_QUOTA_RECONCILE_INTERVAL", DefaultQuotaReconcile.String()), "how often quota corrects its counters from metering's usage")
	var retention string
	fs.StringVar(&retention, "metering-retention-months", env("MP_METERING_RETENTION_MONTHS", "0"), "months of raw usage events to keep; 0 keeps all")
	var maxBytes, idemRetention, maxConns string
	fs.StringVar(&maxBytes, "max-request-bytes", env("MP_MAX_REQUEST_BYTES", strconv.Itoa(DefaultMaxRequestBytes)), "largest HTTP body and gRPC message, in bytes")
	fs.StringVar(&idemRetention, "idempotency-retention", env("MP_IDEMPOTENCY_RETENTION", DefaultIdempotencyRetention.String()), "how long answers of idempotent calls are kept")
	fs.StringVar(&maxConns, "db-max-conns", env("MP_DB_MAX_CONNS", strconv.Itoa(DefaultDBMaxConns)), "PostgreSQL connections per service, at most")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("MP_PPROF_ADDR", ""), "serve Go's profiles (/debug/pprof/) on this address; empty for off")
	var grace, runInterval, requireComplete string
	fs.StringVar(&grace, "invoice-grace", env("MP_INVOICE_GRACE", DefaultInvoiceGrace.String()), "how long after a period ends its draft invoices are finalized")
	fs.StringVar(&requireComplete, "invoice-require-complete", env("MP_INVOICE_REQUIRE_COMPLETE", "false"), "finalize a draft only once metering says its period's usage is complete")
	fs.StringVar(&runInterval, "invoice-run-interval", env("MP_INVOICE_RUN_INTERVAL", DefaultInvoiceRunInterval.String()), "how often billing runs in process")
	fs.StringVar(&c.InvoiceSeller, "invoice-seller", env("MP_INVOICE_SELLER", "Meterplane"), "seller's name on invoice documents")
	fs.BoolVar(&c.Demo, "demo", false, "seed a demo catalog at start")
	fs.StringVar(&c.TLSCert, "tls-cert", env("MP_TLS_CERT", ""), "PEM certificate file: serve gRPC and HTTP over TLS")
	fs.StringVar(&c.TLSKey, "tls-key", env("MP_TLS_KEY", ""), "PEM private key file of --tls-cert")
	fs.StringVar(&c.TLSCA, "tls-ca", env("MP_TLS_CA", ""), "PEM certificate authority trusted when calling other services over TLS; the system's when empty")
	migrateOnly, migrateErr := strconv.ParseBool(env("MP_MIGRATE_ONLY", "false"))
	fs.BoolVar(&c.MigrateOnly, "migrate-only", migrateOnly, "migrate the services' database schemas and exit, without serving")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meterplane [flags]\n\nEach flag can also be set by its environment variable (MP_ and the flag's name\nin upper case with underscores, for example MP_HTTP_ADDR); DATABASE_URL,\nREDIS_URL, OTEL_EXPORTER_OTLP_ENDPOINT, MP_ADMIN_KEY and MP_SERVICE_KEY are read\nfrom the environment only.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	c.DatabaseURL = getenv("DATABASE_URL")
	c.RedisURL = getenv("REDIS_URL")
	c.OTLPEndpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	c.AdminKey = getenv("MP_ADMIN_KEY")
	c.ServiceKey = getenv("MP_SERVICE_KEY")

	var errs []error
	if migrateErr != nil {
		errs = append(errs, fmt.Errorf("MP_MIGRATE_ONLY %q: want true or false", getenv("MP_MIGRATE_ONLY")))
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", level))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log format %q: want json or text", c.LogFormat))
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %q: want a positive duration such as 15s", timeout))
	}
	c.ShutdownTimeout = d
	if c.RetentionMonths, err = strconv.Atoi(retention); err != nil || c.RetentionMonths < 0 {
		errs = append(errs, fmt.Errorf("metering retention %q: want a number of months, 0 for all", retention))
	}
	if c.MaxRequestBytes, err = strconv.ParseInt(maxBytes, 10, 64); err != nil || c.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("max request bytes %q: want a number of bytes, at least 1024", maxBytes))
	}
	if c.IdempotencyRetention, err = time.ParseDuration(idemRetention); err != nil || c.IdempotencyRetention < time.Hour {
		errs = append(errs, fmt.Errorf("idempotency retention %q: want a duration of at least 1h such as 720h", idemRetention))
	}
	if c.DBMaxConns, err = strconv.Atoi(maxConns); err != nil || c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		errs = append(errs, fmt.Errorf("db max conns %q: want a number from 1 to 1000", maxConns))
	}
	if c.QuotaReconcile, err = time.ParseDuration(reconcile); err != nil || c.QuotaReconcile < time.Second {
		errs = append(errs, fmt.Errorf("quota reconcile interval %q: want a duration of at least 1s such as 5m", reconcile))
	}
	if c.InvoiceGrace, err = time.ParseDuration(grace); err != nil || c.InvoiceGrace < 0 {
		errs = append(errs, fmt.Errorf("invoice grace %q: want a duration of at least 0s such as 1h", grace))
	}
	if c.InvoiceRunInterval, err = time.ParseDuration(runInterval); err != nil || c.InvoiceRunInterval < time.Second {
		errs = append(errs, fmt.Errorf("invoice run interval %q: want a duration of at least 1s such as 1h", runInterval))
	}
	if c.InvoiceRequireComplete, err = strconv.ParseBool(requireComplete); err != nil {
		errs = append(errs, fmt.Errorf("invoice require complete %q: want true or false", requireComplete))
	}
	for o := range strings.SplitSeq(corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if c.HTTPRequestTimeout, err = time.ParseDuration(requestTimeout); err != nil || c.HTTPRequestTimeout < time.Second {
		errs = append(errs, fmt.Errorf("HTTP request timeout %q: want a duration of at least 1s such as 60s", requestTimeout))
	}
	errs = append(errs, c.Validate())
	return c, errors.Join(errs...)
}

// Validate checks the values that Load cannot check while parsing.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"gRPC address": c.GRPCAddr, "HTTP address": c.HTTPAddr, "catalog address": c.CatalogAddr, "subscription address": c.SubscriptionAddr, "metering address": c.MeteringAddr, "quota address": c.QuotaAddr, "invoice address": c.InvoiceAddr, "pprof address": c.PprofAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil && addr != "" {
			errs = append(errs, fmt.Errorf("%s %q: want host:port", name, addr))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS: set both MP_TLS_CERT and MP_TLS_KEY, or neither"))
	}
	if c.ServiceKey != "" && len(c.ServiceKey) < 32 {
		errs = append(errs, errors.New("MP_SERVICE_KEY: want at least 32 characters"))
	}
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "") {
			errs = append(errs, fmt.Errorf("CORS origin %q: want scheme://host[:port] such as https://app.example.com, or *", o))
		}
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("data dir: must be set when DATABASE_URL is empty"))
	}
	if c.DatabaseURL != "" && !hasScheme(c.DatabaseURL, "postgres", "postgresql") {
		errs = append(errs, errors.New("DATABASE_URL: want postgres://user:password@host:port/database"))
	}
	if c.RedisURL != "" && !hasScheme(c.RedisURL, "redis", "rediss", "redis+cluster", "rediss+cluster") {
		errs = append(errs, errors.New("REDIS_URL: want redis://host:port/db, or redis+cluster://host1:port1?addr=host2:port2 for a cluster"))
	}
	return errors.Join(errs...)
}

func hasScheme(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// LogValue prints the configuration with passwords in URLs masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("database", orDefault(mask(c.DatabaseURL), "sqlite in "+c.DataDir)),
		slog.String("redis", orDefault(mask(c.RedisURL), "in-process")),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("otlp_endpoint", orDefault(c.OTLPEndpoint, "off")),
		slog.Bool("demo", c.Demo),
		slog.String("catalog_addr", orDefault(c.CatalogAddr, "this process")),
		slog.String("subscription_addr", orDefault(c.SubscriptionAddr, "this process")),
		slog.String("metering_addr", orDefault(c.MeteringAddr, "this process")),
		slog.Duration("quota_reconcile_interval", c.QuotaReconcile),
		slog.Int("metering_retention_months", c.RetentionMonths),
		slog.Int64("max_request_bytes", c.MaxRequestBytes),
		slog.Duration("idempotency_retention", c.IdempotencyRetention),
		slog.Duration("invoice_grace", c.InvoiceGrace),
		slog.Bool("invoice_require_complete", c.InvoiceRequireComplete),
		slog.Duration("invoice_run_interval", c.InvoiceRunInterval),
		slog.String("pprof_addr", orDefault(c.PprofAddr, "off")),
		slog.Bool("admin_key_preset", c.AdminKey != ""),
		slog.Bool("service_key_set", c.ServiceKey != ""),
		slog.Bool("tls", c.TLSCert != ""),
		slog.Bool("migrate_only", c.MigrateOnly),
		slog.String("quota_addr", orDefault(c.QuotaAddr, "this process")),
		slog.String("invoice_addr", orDefault(c.InvoiceAddr, "this process")),
		slog.String("cors_origins", orDefault(strings.Join(c.CORSOrigins, ","), "none")),
		slog.Duration("http_request_timeout", c.HTTPRequestTimeout),
	)
}

func mask(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
