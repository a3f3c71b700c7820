-- ratelimit.lua - the Redis side of ratelimit.c: rpm and tpm paced by
-- token buckets, rpm and tpm capped by counts per slot of window/30
-- seconds, for every flexiai process on every host.
-- Mirrors fx_limit_apply() and the document of fx_limit_doc_to_json() line by
-- line; change them together.
--
-- KEYS[1]  {key_prefix}:limit:{provider}
-- ARGV     kind (1 acquire, 2 adjust), now, window, rpm, tpm, cost, slot,
--          delta, ttl (seconds)
-- returns  {granted, wait (string), slot, which (1 rpm, 2 tpm)}
local SLOTS = 30
local RING = SLOTS + 4
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
local level, at = 0, 0   -- the rpm bucket
local tlevel, tat = 0, 0 -- the tpm bucket
local raw = redis.call('GET', KEYS[1])
if type(raw) == 'string' then
    local ok, d = pcall(cjson.decode, raw)
    if ok and type(d) == 'table' and d.window == window and
        type(d.slots) == 'table' then
        if type(d.bucket) == 'table' and type(d.bucket[1]) == 'number' and
            type(d.bucket[2]) == 'number' then
            level, at = d.bucket[1], d.bucket[2]
        end
        if type(d.tbucket) == 'table' and type(d.tbucket[1]) == 'number' and
            type(d.tbucket[2]) == 'number' then
            tlevel, tat = d.tbucket[1], d.tbucket[2]
        end
        -- a clock read before ours (or another host's): time is later
        for _, s in ipairs(d.slots) do
            if type(s) == 'table' and type(s[1]) == 'number' and
                s[1] > cur and s[1] < cur + RING then
                cur = s[1]
            end
        end
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
local t = now
if cur * len > t then t = cur * len end
if rpm > 0 and at > t then t = at end
if tpm > 0 and tat > t then t = tat end

local function save()
    local parts = {}
    for i, s in ipairs(slots) do
        parts[i] = string.format('[%d,%.17g,%.17g]', s[1], s[2], s[3])
    end
    redis.call('SET', KEYS[1],
        string.format('{"window":%.17g,"slots":[%s],"bucket":[%.17g,%.17g],' ..
            '"tbucket":[%.17g,%.17g]}', window, table.concat(parts, ','),
            level, at, tlevel, tat), 'EX', ttl)
end

-- a bucket brought to t, never back in time (ratelimit.c's refill);
-- returns level, at, burst
local function refill(lv, a, limit)
    local burst = math.floor((limit + SLOTS - 1) / SLOTS)
    if not (a > 0) or t - a > window * 4 then
        lv, a = burst, t
    elseif t > a then
        lv, a = lv + (t - a) * limit / window, t
    end
    if lv > burst then lv = burst end
    return lv, a, burst
end

if kind == 2 then
    for _, s in ipairs(slots) do
        if s[1] == aslot then
            s[3] = s[3] + delta
            if s[3] < 0 then s[3] = 0 end
        end
    end
    if tpm > 0 then
        local burst
        tlevel, tat, burst = refill(tlevel, tat, tpm)
        tlevel = tlevel - delta
        if tlevel > burst then tlevel = burst end
    end
    save()
    return {1, '0', 0, 0}
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
        if freed >= over then return (s[1] + RING) * len - t end
    end
    return len
end

local wait, which = 0, 0
if rpm > 0 then
    level, at = refill(level, at, rpm)
    if level < 1 then wait, which = (1 - level) * window / rpm, 1 end
end
if tpm > 0 then
    local burst
    tlevel, tat, burst = refill(tlevel, tat, tpm)
    local need = cost
    if burst < need then need = burst end
    if tlevel < need - 1e-9 then -- rounding: full is full
        local w = (need - tlevel) * window / tpm
        if w > wait then wait, which = w, 2 end
    end
end
if rpm > 0 and sumr + 1 > rpm then
    local w = wait_for(2, sumr + 1 - rpm)
    if w > wait then wait, which = w, 1 end
end
if tpm > 0 and sumt + cost > tpm then
    local w = wait_for(3, sumt + cost - tpm)
    if w > wait then wait, which = w, 2 end
end
if wait > 0 then
    wait = wait + t - now
    if wait < 0.001 then wait = 0.001 end
    return {0, string.format('%.17g', wait), 0, which}
end
if rpm > 0 then level = level - 1 end
-- in debt when cost > burst: the refill pays
if tpm > 0 then tlevel = tlevel - cost end
local last = slots[#slots]
if last ~= nil and last[1] == cur then
    last[2] = last[2] + 1
    last[3] = last[3] + cost
else
    slots[#slots + 1] = {cur, 1, cost}
end
save()
return {1, '0', cur, 0}
