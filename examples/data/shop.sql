-- The quickstart's customers: created in the in-memory database when the workflow first queries it.
CREATE TABLE customers (
  name TEXT PRIMARY KEY,
  tier TEXT NOT NULL,
  credit_limit REAL NOT NULL
);

INSERT INTO customers (name, tier, credit_limit) VALUES
  ('ada', 'standard', 5000.0),
  ('bob', 'gold', 50000.0),
  ('cy', 'standard', 20000.0);
