-- ledger-v3.sql - a request ledger as schema version 3 wrote it, for the
-- migration test in test-ledger.c: attempts without usage, records
-- without usage parts, reasoning or usage_split.
PRAGMA user_version = 3;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE requests( id INTEGER PRIMARY KEY, time REAL NOT NULL, command TEXT NOT NULL, tag TEXT, conversation_id TEXT, provider TEXT, model TEXT, system TEXT, messages TEXT, prompt TEXT, text TEXT, finish_reason TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL, exit_code INTEGER NOT NULL, error TEXT, error_class TEXT, first_provider TEXT);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
DROP INDEX IF EXISTS requests_time;
CREATE INDEX requests_usage ON requests(time, provider, model, tag, exit_code, first_provider, error_class, prompt_tokens, completion_tokens, latency_ms);
CREATE INDEX requests_cid ON requests(conversation_id, id) WHERE conversation_id IS NOT NULL;
CREATE TABLE attempts( request_id INTEGER NOT NULL, seq INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT, outcome TEXT NOT NULL, error_class TEXT, http_status INTEGER, retry_after REAL, latency_ms REAL NOT NULL, message TEXT, probe INTEGER NOT NULL DEFAULT 0, continuation INTEGER NOT NULL DEFAULT 0, text_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(request_id, seq)) WITHOUT ROWID;
CREATE VIRTUAL TABLE requests_fts USING fts5(prompt, text, content='requests', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER requests_ai AFTER INSERT ON requests BEGIN INSERT INTO requests_fts(rowid, prompt, text)  VALUES (new.id, new.prompt, new.text);
 END;
CREATE TRIGGER requests_ad AFTER DELETE ON requests BEGIN INSERT INTO requests_fts(requests_fts, rowid, prompt, text)  VALUES ('delete', old.id, old.prompt, old.text);
 DELETE FROM attempts WHERE request_id = old.id;
 END;
INSERT INTO requests(id, time, command, tag, conversation_id, provider,
  model, system, messages, prompt, text, finish_reason, prompt_tokens,
  completion_tokens, latency_ms, exit_code, error, error_class,
  first_provider) VALUES
  (1, 1790000000.0, 'complete', 'ops', 'c0ffee0000000001', 'openai',
   'gpt-4o-mini', NULL, '[{"role":"user","content":"Why is the disk full?"}]',
   'Why is the disk full?', 'Old logs fill /var.', 'stop', 12, 7, 812.5, 0,
   NULL, NULL, 'openai'),
  (2, 1790000100.0, 'batch', NULL, NULL, NULL, NULL, NULL,
   '[{"role":"user","content":"Summarise the backup report"}]',
   'Summarise the backup report', NULL, NULL, NULL, NULL, 120000.0, 75,
   'openai: server', 'server', 'openai');
INSERT INTO attempts(request_id, seq, provider, model, outcome, error_class,
  http_status, retry_after, latency_ms, message, probe, continuation,
  text_bytes) VALUES
  (1, 0, 'openai', 'gpt-4o-mini', 'success', NULL, 200, NULL, 800.0, NULL,
   0, 0, 19),
  (2, 0, 'openai', 'gpt-4o-mini', 'error', 'server', 503, NULL, 120000.0,
   'overloaded', 0, 0, 0);
