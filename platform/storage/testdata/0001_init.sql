CREATE TABLE widgets (
    id TEXT COLLATE "C" PRIMARY KEY,
    price NUMERIC(38, 18) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX widgets_price ON widgets (price);
