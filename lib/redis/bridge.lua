-- Apply another worker's breaker event (the Python FlexiAI publishes
-- events only) to the state document, atomically and idempotently.
-- Used by `flexiai breaker sync` (redis-bridge.c).  The document is read
-- and written exactly as breaker.lua does: breaker-doc.lua, put before this file
-- at build time, holds what both use.
-- KEYS[1] state key.  ARGV: event type (opened|closed|half_open), event
-- time (epoch seconds), worker id, failure count (-1: none), success
-- count (-1: none), recovery_timeout, state_ttl.
-- An event not newer than the document's last change is ignored: replays,
-- out-of-order delivery, several bridges, and flexiai's own events (whose
-- time is the change they announce) change nothing.
-- Returns {applied (0/1), document}.
local key = KEYS[1]
local ev = ARGV[1]
local ts = tonumber(ARGV[2])
local worker = ARGV[3]
local fc = tonumber(ARGV[4])
local sc = tonumber(ARGV[5])
local recovery = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])

local d = read_doc(key)

-- microsecond slack: event times travel as isoformat() microseconds
if not finite(ts) or ts <= d.changed_at + 0.000001 then
  return {0, ''}
end

local before = d.state
if ev == 'opened' then
  if d.state ~= 'open' then
    d.opened_at = ts
  end
  d.state = 'open'
  d.retry_at = ts + recovery
  d.forced = false
  d.probes = {}
  d.reason = 'event_opened'
elseif ev == 'closed' then
  d.state = 'closed'
  d.failure_count = 0
  d.success_count = 0
  d.opened_at = 0
  d.retry_at = 0
  d.forced = false
  d.probes = {}
  d.reason = 'event_closed'
elseif ev == 'half_open' then
  d.state = 'half_open'
  d.success_count = 0
  d.probes = {}
  d.reason = 'event_half_open'
else
  return {0, ''}
end
if fc and fc >= 0 and fc <= 1e15 and fc == math.floor(fc) then
  d.failure_count = fc
end
if sc and sc >= 0 and sc <= 1e15 and sc == math.floor(sc) then
  d.success_count = sc
end
if ev == 'closed' then
  d.failure_count = 0
end
d.changed_at = ts
d.changed_by = cstr(worker, 128)

local doc = encode(d)

if ttl > 0 then
  redis.call('SET', key, doc, 'EX', ttl)
else
  redis.call('SET', key, doc)
end
return {1, doc}
