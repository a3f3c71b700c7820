-- Apply one breaker operation to the state document atomically.
-- Mirrors fx_breaker_apply() in breaker.c; change both together.  The
-- document's reading and writing (breaker-doc.lua) is put before it at build time.
-- KEYS[1] state key.  ARGV: op, now, until, worker, was_probe,
-- failure_threshold, recovery_timeout, half_open_max_calls, probe_timeout,
-- state_ttl, channel, publish_outcomes, event head, event middle,
-- error class, error message (failure and open-until: the last error),
-- max_open.
-- Returns {event, admit, document, malformed}.
local key = KEYS[1]
local op = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local till = tonumber(ARGV[3])
local worker = ARGV[4]
local was_probe = ARGV[5] == '1'
local threshold = tonumber(ARGV[6])
local recovery = tonumber(ARGV[7])
local max_calls = tonumber(ARGV[8])
local probe_timeout = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])
local channel = ARGV[11]
local outcomes = ARGV[12] == '1'
local ev_head = ARGV[13]
local ev_mid = ARGV[14]
local err_class = ARGV[15] or ''
local err_msg = ARGV[16] or ''
local max_open = tonumber(ARGV[17]) or 0

-- read: a missing key is the closed default; a key of another type or a
-- malformed document is the closed default too, and gets overwritten
local d, malformed = read_doc(key)

-- the state machine
local changed = false
local event = 0
local admit = 0

local function cap()
  if max_calls <= 0 then return 0 end
  if max_calls > 32 then return 32 end
  return max_calls
end

local function take_lease()
  if #d.probes >= cap() then return 0 end
  d.probes[#d.probes + 1] = {worker = cstr(worker, 128),
                             expires = now + probe_timeout}
  changed = true
  return 2
end

local function to_open(reason)
  d.state = 'open'
  d.opened_at = now
  d.retry_at = now + recovery
  d.reason = reason
  d.probes = {}
end

-- the last counted failure, to explain a skip (note_error in breaker.c)
local function note_error()
  if err_class == '' then return end
  d.last_class = cstr(err_class, 32)
  d.last_error = cstr(err_msg, 200)
end

local function to_closed()
  d.state = 'closed'
  d.failure_count = 0
  d.success_count = 0
  d.opened_at = 0
  d.retry_at = 0
  d.forced = false
  d.probes = {}
end

-- one bad writer (a skewed clock, an absurd Retry-After) cannot wedge
-- everyone: an open period or a lease is never trusted beyond its
-- maximum length from now (fx_breaker_doc_clamp in breaker.c)
do
  local open_max = max_open > 0 and max_open or 3600
  if recovery > open_max then open_max = recovery end
  if d.forced then open_max = 2592000 end
  local lease_max = probe_timeout > 0 and probe_timeout or 86400
  if not (d.retry_at <= now + open_max) then
    d.retry_at = now + open_max
    changed = true
  end
  for _, p in ipairs(d.probes) do
    if not (p.expires <= now + lease_max) then
      p.expires = now + lease_max
      changed = true
    end
  end
  if not (d.opened_at <= now) then
    d.opened_at = now
    changed = true
  end
  if not (d.changed_at <= now) then
    d.changed_at = now
    changed = true
  end
end

local kept = {}
for _, p in ipairs(d.probes) do
  if p.expires > now then
    kept[#kept + 1] = p
  end
end
if #kept ~= #d.probes then
  changed = true
end
d.probes = kept

if op == 1 then -- admit
  if d.state == 'closed' then
    admit = 1
  elseif d.state == 'open' then
    if not ((d.retry_at == 0 and d.forced) or now < d.retry_at) then
      d.state = 'half_open'
      d.success_count = 0
      changed = true
      admit = take_lease()
      event = 3
    end
  else
    admit = take_lease()
  end
elseif op == 2 then -- success
  if d.state == 'closed' then
    if d.failure_count > 0 then
      d.failure_count = 0
      changed = true
    end
  elseif d.state == 'half_open' and was_probe then
    to_closed()
    d.reason = 'probe_succeeded'
    changed = true
    event = 2
  end
elseif op == 3 then -- failure
  note_error()
  d.failure_count = d.failure_count + 1
  changed = true
  if d.state == 'closed' then
    if d.failure_count >= threshold then
      to_open('failure_threshold')
      event = 1
    end
  elseif d.state == 'half_open' and was_probe then
    to_open('probe_failed')
    event = 1
  end
elseif op == 4 then -- open until
  note_error()
  d.failure_count = d.failure_count + 1
  if d.state ~= 'open' then
    d.state = 'open'
    d.opened_at = now
    event = 1
  end
  if till > d.retry_at then
    d.retry_at = till
  end
  d.reason = 'retry_after'
  d.probes = {}
  changed = true
elseif op == 5 then -- reset
  to_closed()
  d.reason = 'reset'
  changed = true
  event = 2
elseif op == 6 then -- force open
  note_error() -- a reason given by hand, class 'manual'
  d.state = 'open'
  d.forced = true
  d.opened_at = now
  if till > 0 then d.retry_at = till else d.retry_at = 0 end
  d.reason = 'manual'
  d.probes = {}
  changed = true
  event = 1
end
if changed then
  d.changed_at = now
  d.changed_by = cstr(worker, 128)
end

local doc = encode(d)

if changed or malformed then
  if ttl > 0 then
    redis.call('SET', key, doc, 'EX', ttl)
  else
    redis.call('SET', key, doc)
  end
end

-- events in the Python FlexiAI shape; head and middle come from
-- fx_event_json() so the bytes are the same as the C side's
local names = {'opened', 'closed', 'half_open', 'failure', 'success'}
-- an "opened" by hand with a reason carries it as metadata.reason (Python
-- keeps metadata as a free dict; the reason is printable ASCII, so these
-- are json.dumps() bytes still)
local function publish(ev)
  local why = ''
  if op == 6 and ev == 1 and err_msg ~= '' then
    why = ', "reason": ' .. str(err_msg)
  end
  redis.call('PUBLISH', channel, ev_head .. names[ev] .. ev_mid ..
    string.format('%d', d.failure_count) .. ', "success_count": ' ..
    string.format('%d', d.success_count) .. why ..
    '}, "__event_type__": "CircuitBreakerEvent"}')
end
if outcomes then
  if op == 2 then
    publish(5)
  elseif op == 3 or op == 4 then
    publish(4)
  end
end
if event ~= 0 then
  publish(event)
end

return {event, admit, doc, malformed and 1 or 0}
