-- breaker-doc.lua - the state document in Lua, as breaker.c reads and writes it
-- (fx_breaker_doc_from_json / fx_breaker_doc_to_json): the shared first part of
-- breaker.lua and bridge.lua, put before each of them at build time so
-- that both read and write documents the same way.  Uses no ARGV.

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

-- the checks of fx_breaker_doc_from_json()
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

-- encode exactly as fx_breaker_doc_to_json() does
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

-- The document under key: a missing key is the closed default; a key of
-- another type or a malformed document is the closed default too (and
-- malformed is true: the caller overwrites it).
local function read_doc(key)
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' then
    return closed_doc(), true
  elseif raw then
    local okay, parsed = pcall(decode, raw)
    if okay then
      return parsed, false
    end
    return closed_doc(), true
  end
  return closed_doc(), false
end

-- the document as JSON, byte for byte what fx_breaker_doc_to_json() writes
local function encode(d)
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
  return table.concat(parts)
end
