-- ratelimit.lua - the Redis side of ratelimit.c: rpm and tpm counted per
-- slot of window/30 seconds, for every flexiai process on every host.
-- Mirrors fx_limit_apply() and the document of fx_limit_doc_to_json() line by
-- line; change them together.
--
-- KEYS[1]  {key_prefix}:limit:{provider}
-- ARGV     kind (1 acquire, 2 adjust), now, window, rpm, tpm, cost, slot,
--          delta, ttl (seconds)
-- returns  {granted, wait (string), slot}
local SLOTS = 30
local RING = SLOTS + 2
local kind = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local rpm = tonumber(ARGV[4])
local tpm = tonumber(ARGV[5])
local cost = tonumber(ARGV[6])
local aslot = tonumber(ARGV[7])
local delta = tonumber(ARGV[8])
local ttl = tonumber(ARGV[9])

local len = window / SLOTS
local cur = math.floor(now / len)
local slots = {}
local raw = redis.call('GET', KEYS[1])
if type(raw) == 'string' then
    local ok, d = pcall(cjson.decode, raw)
    if ok and type(d) == 'table' and d.window == window and
        type(d.slots) == 'table' then
        for _, s in ipairs(d.slots) do
            if type(s) == 'table' and type(s[1]) == 'number' and
                type(s[2]) == 'number' and type(s[3]) == 'number' and
                s[1] > cur - RING and s[1] <= cur then
                slots[#slots + 1] = {s[1], s[2], s[3]}
            end
        end
    end
end
table.sort(slots, function(a, b) return a[1] < b[1] end)

local function save()
    local parts = {}
    for i, s in ipairs(slots) do
        parts[i] = string.format('[%d,%.17g,%.17g]', s[1], s[2], s[3])
    end
    redis.call('SET', KEYS[1], string.format('{"window":%.17g,"slots":[%s]}',
        window, table.concat(parts, ',')), 'EX', ttl)
end

if kind == 2 then
    for _, s in ipairs(slots) do
        if s[1] == aslot then
            s[3] = s[3] + delta
            if s[3] < 0 then s[3] = 0 end
        end
    end
    save()
    return {1, '0', 0}
end

local sumr, sumt = 0, 0
for _, s in ipairs(slots) do
    sumr = sumr + s[2]
    sumt = sumt + s[3]
end
if cost < 0 then cost = 0 end
if tpm > 0 and cost > tpm then cost = tpm end

local function wait_for(col, over)
    local freed = 0
    for _, s in ipairs(slots) do
        freed = freed + s[col]
        if freed >= over then return (s[1] + RING) * len - now end
    end
    return len
end

local wait = 0
if rpm > 0 and sumr + 1 > rpm then wait = wait_for(2, sumr + 1 - rpm) end
if tpm > 0 and sumt + cost > tpm then
    local w = wait_for(3, sumt + cost - tpm)
    if w > wait then wait = w end
end
if wait > 0 then
    if wait < 0.001 then wait = 0.001 end
    return {0, string.format('%.17g', wait), 0}
end
local last = slots[#slots]
if last ~= nil and last[1] == cur then
    last[2] = last[2] + 1
    last[3] = last[3] + cost
else
    slots[#slots + 1] = {cur, 1, cost}
end
save()
return {1, '0', cur}
