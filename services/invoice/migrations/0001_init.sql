-- The invoice service's tables. A draft invoice is rewritten by billing
-- runs (only the lines that differ); a finalized one is never edited again,
-- but for its status (paid, void) and what credit notes credited.

CREATE TABLE billing_runs (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	as_of              TIMESTAMPTZ NOT NULL,
	status             TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
	periods            BIGINT NOT NULL,
	invoices_created   BIGINT NOT NULL,
	invoices_updated   BIGINT NOT NULL,
	invoices_unchanged BIGINT NOT NULL,
	invoices_finalized BIGINT NOT NULL,
	failures           BIGINT NOT NULL,
	error              TEXT NOT NULL,
	start_time         TIMESTAMPTZ NOT NULL,
	end_time           TIMESTAMPTZ
);

CREATE INDEX billing_runs_completed ON billing_runs (status, as_of);

CREATE TABLE invoices (
	id              TEXT COLLATE "C" PRIMARY KEY,
	-- Set when finalized: "MP-2026-000123".
	number          TEXT COLLATE "C",
	customer_id     TEXT COLLATE "C" NOT NULL,
	-- The subscription of a separate invoice; '' for the consolidated one.
	subscription_id TEXT COLLATE "C" NOT NULL,
	currency        TEXT NOT NULL CHECK (length(currency) = 3),
	minor           INTEGER NOT NULL CHECK (minor >= 0),
	period_start    TIMESTAMPTZ NOT NULL,
	period_end      TIMESTAMPTZ NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'paid', 'void')),
	subtotal        NUMERIC NOT NULL,
	credit_applied  NUMERIC NOT NULL,
	total           NUMERIC NOT NULL,
	credited        NUMERIC NOT NULL,
	billing_run_id  TEXT NOT NULL,
	create_time     TIMESTAMPTZ NOT NULL,
	update_time     TIMESTAMPTZ NOT NULL,
	finalize_time   TIMESTAMPTZ,
	paid_time       TIMESTAMPTZ,
	void_time       TIMESTAMPTZ,
	-- The customer as the invoice names it, copied when it is finalized
	-- (empty on drafts), so that its document never changes.
	bill_to_name        TEXT NOT NULL DEFAULT '',
	bill_to_email       TEXT NOT NULL DEFAULT '',
	bill_to_external_id TEXT NOT NULL DEFAULT '',
	CHECK (period_end > period_start),
	-- One invoice per customer, period, currency and separate subscription
	-- or none: a billing run that runs again, or concurrently, finds it.
	UNIQUE (customer_id, period_start, currency, subscription_id)
);

CREATE UNIQUE INDEX invoices_number ON invoices (number);
CREATE INDEX invoices_status_end ON invoices (status, period_end, id);
CREATE INDEX invoices_period ON invoices (period_start, id);
CREATE INDEX invoices_customer_period ON invoices (customer_id, period_start, id);

-- Tax, when it comes, is columns of a line (rate, amount) and sums of an
-- invoice; amount stays the net amount.
CREATE TABLE invoice_lines (
	invoice_id      TEXT COLLATE "C" NOT NULL REFERENCES invoices (id),
	-- Derived from the invoice and the line's identity, so a recomputed
	-- line keeps its id.
	line_id         TEXT COLLATE "C" NOT NULL,
	seq             INTEGER NOT NULL,
	kind            INTEGER NOT NULL,
	description     TEXT NOT NULL,
	feature_key     TEXT NOT NULL,
	quantity        NUMERIC NOT NULL,
	unit_price      NUMERIC NOT NULL,
	amount          NUMERIC NOT NULL,
	period_start    TIMESTAMPTZ NOT NULL,
	period_end      TIMESTAMPTZ NOT NULL,
	subscription_id TEXT NOT NULL,
	plan_key        TEXT NOT NULL,
	plan_version    INTEGER NOT NULL,
	erp_product_id  TEXT NOT NULL,
	erp_unit_id     TEXT NOT NULL,
	PRIMARY KEY (invoice_id, line_id)
);

-- Gapless number series ("MP-2026", "CN-2026"): the row is incremented in
-- the transaction that finalizes the invoice or issues the credit note, so
-- a rolled back one takes no number.
CREATE TABLE number_series (
	series TEXT COLLATE "C" PRIMARY KEY,
	last   BIGINT NOT NULL CHECK (last >= 1)
);

CREATE TABLE credit_notes (
	id          TEXT COLLATE "C" PRIMARY KEY,
	number      TEXT COLLATE "C" NOT NULL UNIQUE,
	invoice_id  TEXT COLLATE "C" NOT NULL REFERENCES invoices (id),
	customer_id TEXT COLLATE "C" NOT NULL,
	currency    TEXT NOT NULL,
	amount      NUMERIC NOT NULL,
	reason      TEXT NOT NULL,
	create_time TIMESTAMPTZ NOT NULL
);

CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id, create_time);

-- A customer's credit per currency, and the ledger of every change to it.
CREATE TABLE credit_balances (
	customer_id TEXT COLLATE "C" NOT NULL,
	currency    TEXT NOT NULL,
	balance     NUMERIC NOT NULL,
	PRIMARY KEY (customer_id, currency)
);

CREATE TABLE credit_ledger (
	id          TEXT COLLATE "C" PRIMARY KEY,
	customer_id TEXT COLLATE "C" NOT NULL,
	currency    TEXT NOT NULL,
	-- Positive: credit added (a credit note, a negative total carried);
	-- negative: credit used by an invoice.
	amount      NUMERIC NOT NULL,
	reason      TEXT NOT NULL,
	invoice_id  TEXT NOT NULL,
	create_time TIMESTAMPTZ NOT NULL
);

CREATE INDEX credit_ledger_customer ON credit_ledger (customer_id, currency, create_time);
