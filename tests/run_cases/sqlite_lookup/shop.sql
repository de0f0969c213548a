CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, tier TEXT NOT NULL);
INSERT INTO customers VALUES (1, 'ada', 'gold'), (2, 'bob', 'standard'), (3, 'cy', 'gold');

CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, amount REAL NOT NULL, day TEXT NOT NULL);
INSERT INTO orders VALUES
  (10, 1, 120.5, '2026-01-02'),
  (11, 2, 99.0, '2026-01-03'),
  (12, 3, 15.0, '2025-12-30'),
  (13, 1, 30.0, '2026-01-05'),
  (14, 4, 7.5, '2026-01-06');
