-- Apply one breaker operation to the state document atomically.
-- Mirrors fx_breaker_apply() in breaker.c; change both together.
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

local function finite(v)
  return type(v) == 'number' and v == v and v ~= math.huge and v ~= -math.huge
end

local function absent(v)
  return v == nil or v == cjson.null
end

local function bad()
  error('malformed')
end

-- copy_trunc(): C strings end at a NUL and are cut to size - 1 bytes on a
-- UTF-8 character boundary
local function cstr(s, size)
  local z = string.find(s, string.char(0), 1, true)
  if z then
    s = string.sub(s, 1, z - 1)
  end
  if #s < size then
    return s
  end
  local n = size - 1
  while n > 0 do
    local b = string.byte(s, n + 1)
    if b < 128 or b >= 192 then
      break
    end
    n = n - 1
  end
  return string.sub(s, 1, n)
end

local function get_time(t, k, d)
  local v = t[k]
  if absent(v) then return end
  if not finite(v) or v < 0 then bad() end
  d[k] = v
end

local function get_count(t, k, d)
  local v = t[k]
  if absent(v) then return end
  if not finite(v) or v < 0 or v > 1e15 or v ~= math.floor(v) then bad() end
  d[k] = v
end

local function get_string(t, k, d, size)
  local v = t[k]
  if absent(v) then return end
  if type(v) ~= 'string' then bad() end
  d[k] = cstr(v, size)
end

local function closed_doc()
  return {state = 'closed', failure_count = 0, success_count = 0,
          opened_at = 0, retry_at = 0, changed_at = 0, changed_by = '',
          reason = '', last_class = '', last_error = '', forced = false,
          probes = {}}
end

-- the checks of fx_bdoc_from_json()
local function decode(raw)
  local t = cjson.decode(raw)
  if type(t) ~= 'table' then bad() end
  local d = closed_doc()
  local s = t.state
  if s ~= 'closed' and s ~= 'open' and s ~= 'half_open' then bad() end
  d.state = s
  get_count(t, 'failure_count', d)
  get_count(t, 'success_count', d)
  get_time(t, 'opened_at', d)
  get_time(t, 'retry_at', d)
  get_time(t, 'changed_at', d)
  get_string(t, 'changed_by', d, 128)
  get_string(t, 'reason', d, 64)
  get_string(t, 'last_class', d, 32)
  get_string(t, 'last_error', d, 200)
  local f = t.forced
  if not absent(f) then
    if type(f) == 'boolean' then
      d.forced = f
    elseif f == 0 or f == 1 then
      d.forced = f == 1
    else
      bad()
    end
  end
  local list = t.probes
  if not absent(list) then
    if type(list) ~= 'table' then bad() end
    -- an array, or an empty object: any string key means an object
    local n = 0
    for k in pairs(list) do
      if type(k) ~= 'number' then bad() end
      n = n + 1
    end
    for i = 1, n do
      local e = list[i]
      if type(e) ~= 'table' then bad() end
      local p = {worker = '', expires = 0}
      get_string(e, 'worker', p, 128)
      if not finite(e.expires) then bad() end
      p.expires = e.expires
      if #d.probes < 32 then
        d.probes[#d.probes + 1] = p
      end
    end
  end
  local v = t.version
  if not absent(v) and type(v) ~= 'number' then bad() end
  return d
end

-- read: a missing key is the closed default; a key of another type or a
-- malformed document is the closed default too, and gets overwritten
local d = closed_doc()
local malformed = false
local raw = redis.pcall('GET', key)
if type(raw) == 'table' then
  malformed = true
elseif raw then
  local okay, parsed = pcall(decode, raw)
  if okay then
    d = parsed
  else
    malformed = true
  end
end

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
-- maximum length from now (fx_bdoc_clamp in breaker.c)
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

-- encode exactly as fx_bdoc_to_json() does
local function esc(c)
  if c == '"' or c == '\\' then
    return '\\' .. c
  end
  return string.format('\\u%04x', string.byte(c))
end

local function str(s)
  if not string.find(s, '[\1-\31"\\]') then
    return '"' .. s .. '"'
  end
  return '"' .. string.gsub(s, '[\1-\31"\\]', esc) .. '"'
end

local function num(v)
  if not finite(v) then v = 0 end
  if v == 0 then
    return 1 / v < 0 and '-0' or '0'
  end
  if v == math.floor(v) and v > -1e15 and v < 1e15 then
    return string.format('%d', v) -- what %.15g prints for these
  end
  local s
  for prec = 15, 17 do
    s = string.format('%.' .. prec .. 'g', v)
    if tonumber(s) == v then break end
  end
  return s
end

local parts = {'{"state":', str(d.state),
  ',"failure_count":', string.format('%d', d.failure_count),
  ',"success_count":', string.format('%d', d.success_count),
  ',"opened_at":', num(d.opened_at), ',"retry_at":', num(d.retry_at),
  ',"changed_at":', num(d.changed_at), ',"changed_by":', str(d.changed_by),
  ',"reason":', str(d.reason),
  d.last_class ~= '' and (',"last_class":' .. str(d.last_class) ..
    ',"last_error":' .. str(d.last_error)) or '',
  d.forced and ',"forced":true' or ',"forced":false', ',"probes":['}
for i, p in ipairs(d.probes) do
  parts[#parts + 1] = (i > 1 and ',' or '') .. '{"worker":' .. str(p.worker) ..
    ',"expires":' .. num(p.expires) .. '}'
end
parts[#parts + 1] = '],"version":1}'
local doc = table.concat(parts)

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
local function publish(ev)
  redis.call('PUBLISH', channel, ev_head .. names[ev] .. ev_mid ..
    string.format('%d', d.failure_count) .. ', "success_count": ' ..
    string.format('%d', d.success_count) ..
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
