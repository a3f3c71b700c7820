-- ledger-v1.sql - a request ledger as schema version 1 wrote it, for the
-- migration test in test-ledger.c: no tags, conversations, attempts or
-- full-text index yet, the prompt kept as one string.
PRAGMA user_version = 1;
CREATE TABLE requests(
  id INTEGER PRIMARY KEY,
  time REAL NOT NULL,
  command TEXT NOT NULL,
  provider TEXT,
  model TEXT,
  prompt TEXT,
  text TEXT,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  latency_ms REAL,
  exit_code INTEGER NOT NULL
);
CREATE INDEX requests_time ON requests(time);
INSERT INTO requests VALUES
  (1, 1790000000.0, 'complete', 'openai', 'gpt-4o-mini',
   'Why is the disk full?', 'Old logs fill /var.', 12, 7, 812.5, 0),
  (2, 1790000100.0, 'complete', NULL, NULL,
   'Summarise the backup report', NULL, NULL, NULL, 120000.0, 75),
  (3, 1790000200.0, 'complete', 'claude', 'claude-3-5-haiku-latest',
   'Name a penguin', 'Pingu.', 5, 3, 640.0, 0);
