-- The users of the runnable examples, created in the in-memory database when a workflow first queries it.
-- `last_seen` is relative to now, so the Analytics example's "seen in the last 30 days" always selects the same.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  username TEXT NOT NULL,
  email TEXT,
  status TEXT NOT NULL,
  last_login TEXT NOT NULL,
  last_seen TEXT NOT NULL
);

INSERT INTO users (id, name, username, email, status, last_login, last_seen) VALUES
  (1, 'Ada Lovelace', 'ada', 'ada@example.com', 'active', '2026-02-10', datetime('now', '-3 days')),
  (2, 'Bob Stone', 'bob', 'bob@example', 'active', '2026-03-01', datetime('now', '-40 days')),
  (3, 'Cy Young', 'cy', NULL, 'active', '2026-01-15', datetime('now', '-1 days')),
  (4, 'Dee Park', 'dee', 'dee@example.org', 'inactive', '2026-02-01', datetime('now', '-5 days')),
  (5, 'Eve Moss', 'eve', 'eve@mail.example.org', 'active', '2025-12-01', datetime('now', '-90 days')),
  (101, 'Zed Shaw', 'zed', 'zed@example.net', 'active', '2025-06-01', datetime('now', '-2 days')),
  (102, 'Yan Li', 'yan', 'yan@example.net', 'active', '2025-06-01', datetime('now', '-60 days')),
  (120, 'Xi Chen', 'xi', 'xi@example.net', 'active', '2025-06-01', datetime('now', '-10 days'));
