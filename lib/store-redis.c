/*
 * store-redis.c - breaker state documents in Redis, shared by every
 * flexiai process on every host, in the Python FlexiAI layout:
 *
 *   {key_prefix}:state:{provider}   the state document (JSON string, the
 *                                   fx_bdoc_to_json shape), expiring
 *                                   state_ttl seconds after its last write
 *   PUBLISH {channel}               CircuitBreakerEvent JSON, as Python's
 *                                   json.dumps() writes it
 *
 * Every update is one server-side Lua script (EVALSHA, falling back to EVAL
 * when the server does not know it yet): read the document, apply the
 * operation exactly as fx_breaker_apply() does, write it back when it
 * changed, publish the events, in one atomic step and one round trip.  A
 * load is one round trip too (MGET and a TYPE per key, pipelined).
 *
 * One connection per store, made at open.  When it fails (refused, reset,
 * timed out) the store is marked broken and every later call fails at
 * once: the caller falls back to the file store for the rest of the
 * process rather than paying a timeout per breaker operation.
 *
 * Messages name the server as "redis HOST:PORT" or "redis unix:PATH", never
 * the redis_url or a password.
 */
#include "config.h"

#include "fx.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 6379
#define DEFAULT_PREFIX "flexiai"
#define DEFAULT_CHANNEL "flexiai:events"

/* fx_redis_watch: how often the loop looks at *stop, the reconnect
 * backoff, and the keepalive that notices a silently dead connection */
#define WATCH_POLL_MS 200
#define WATCH_BACKOFF_MIN 0.1
#define WATCH_BACKOFF_MAX 5.0
#define WATCH_PING_IDLE 30.0
#define WATCH_PING_WAIT 10.0

struct fx_store {
    redisContext *c;
    char *where; /* "redis HOST:PORT" or "redis unix:PATH" */
    char *key_prefix;
    char *channel;
    char *worker; /* worker id for publish() */
    long state_ttl;
    int publish_outcomes;
    int broken;   /* the connection failed: fail fast from now on */
    char sha[41]; /* SHA-1 of the update script, hex */
};

/*
 * The update script: KEYS[1] is the state key, ARGV as built in
 * redis_update().  It mirrors fx_breaker_apply() and fx_bdoc_from_json()
 * / fx_bdoc_to_json() in breaker.c line by line; change them together
 * (test-store-redis compares the two on random operations).
 *
 * The document is encoded by hand rather than with cjson.encode so that
 * numbers keep 17 digits (cjson gives 14, and changing its precision would
 * change it for every other script on a shared server) and the bytes equal
 * fx_bdoc_to_json's.  Events are concatenated from pieces the C side cuts
 * out of fx_event_json(), so they are Python's json.dumps() bytes.
 */
static const char update_script[] =
    "-- Apply one breaker operation to the state document atomically.\n"
    "-- Mirrors fx_breaker_apply() in breaker.c; change both together.\n"
    "-- KEYS[1] state key.  ARGV: op, now, until, worker, was_probe,\n"
    "-- failure_threshold, recovery_timeout, half_open_max_calls, "
    "probe_timeout,\n"
    "-- state_ttl, channel, publish_outcomes, event head, event middle.\n"
    "-- Returns {event, admit, document, malformed}.\n"
    "local key = KEYS[1]\n"
    "local op = tonumber(ARGV[1])\n"
    "local now = tonumber(ARGV[2])\n"
    "local till = tonumber(ARGV[3])\n"
    "local worker = ARGV[4]\n"
    "local was_probe = ARGV[5] == '1'\n"
    "local threshold = tonumber(ARGV[6])\n"
    "local recovery = tonumber(ARGV[7])\n"
    "local max_calls = tonumber(ARGV[8])\n"
    "local probe_timeout = tonumber(ARGV[9])\n"
    "local ttl = tonumber(ARGV[10])\n"
    "local channel = ARGV[11]\n"
    "local outcomes = ARGV[12] == '1'\n"
    "local ev_head = ARGV[13]\n"
    "local ev_mid = ARGV[14]\n"
    "\n"
    "local function finite(v)\n"
    "  return type(v) == 'number' and v == v and v ~= math.huge and v ~= "
    "-math.huge\n"
    "end\n"
    "\n"
    "local function absent(v)\n"
    "  return v == nil or v == cjson.null\n"
    "end\n"
    "\n"
    "local function bad()\n"
    "  error('malformed')\n"
    "end\n"
    "\n"
    "-- copy_trunc(): C strings end at a NUL and are cut to size - 1 bytes on "
    "a\n"
    "-- UTF-8 character boundary\n"
    "local function cstr(s, size)\n"
    "  local z = string.find(s, string.char(0), 1, true)\n"
    "  if z then\n"
    "    s = string.sub(s, 1, z - 1)\n"
    "  end\n"
    "  if #s < size then\n"
    "    return s\n"
    "  end\n"
    "  local n = size - 1\n"
    "  while n > 0 do\n"
    "    local b = string.byte(s, n + 1)\n"
    "    if b < 128 or b >= 192 then\n"
    "      break\n"
    "    end\n"
    "    n = n - 1\n"
    "  end\n"
    "  return string.sub(s, 1, n)\n"
    "end\n"
    "\n"
    "local function get_time(t, k, d)\n"
    "  local v = t[k]\n"
    "  if absent(v) then return end\n"
    "  if not finite(v) or v < 0 then bad() end\n"
    "  d[k] = v\n"
    "end\n"
    "\n"
    "local function get_count(t, k, d)\n"
    "  local v = t[k]\n"
    "  if absent(v) then return end\n"
    "  if not finite(v) or v < 0 or v > 1e15 or v ~= math.floor(v) then bad() "
    "end\n"
    "  d[k] = v\n"
    "end\n"
    "\n"
    "local function get_string(t, k, d, size)\n"
    "  local v = t[k]\n"
    "  if absent(v) then return end\n"
    "  if type(v) ~= 'string' then bad() end\n"
    "  d[k] = cstr(v, size)\n"
    "end\n"
    "\n"
    "local function closed_doc()\n"
    "  return {state = 'closed', failure_count = 0, success_count = 0,\n"
    "          opened_at = 0, retry_at = 0, changed_at = 0, changed_by = '',\n"
    "          reason = '', forced = false, probes = {}}\n"
    "end\n"
    "\n"
    "-- the checks of fx_bdoc_from_json()\n"
    "local function decode(raw)\n"
    "  local t = cjson.decode(raw)\n"
    "  if type(t) ~= 'table' then bad() end\n"
    "  local d = closed_doc()\n"
    "  local s = t.state\n"
    "  if s ~= 'closed' and s ~= 'open' and s ~= 'half_open' then bad() end\n"
    "  d.state = s\n"
    "  get_count(t, 'failure_count', d)\n"
    "  get_count(t, 'success_count', d)\n"
    "  get_time(t, 'opened_at', d)\n"
    "  get_time(t, 'retry_at', d)\n"
    "  get_time(t, 'changed_at', d)\n"
    "  get_string(t, 'changed_by', d, 128)\n"
    "  get_string(t, 'reason', d, 64)\n"
    "  local f = t.forced\n"
    "  if not absent(f) then\n"
    "    if type(f) == 'boolean' then\n"
    "      d.forced = f\n"
    "    elseif f == 0 or f == 1 then\n"
    "      d.forced = f == 1\n"
    "    else\n"
    "      bad()\n"
    "    end\n"
    "  end\n"
    "  local list = t.probes\n"
    "  if not absent(list) then\n"
    "    if type(list) ~= 'table' then bad() end\n"
    "    -- an array, or an empty object: any string key means an object\n"
    "    local n = 0\n"
    "    for k in pairs(list) do\n"
    "      if type(k) ~= 'number' then bad() end\n"
    "      n = n + 1\n"
    "    end\n"
    "    for i = 1, n do\n"
    "      local e = list[i]\n"
    "      if type(e) ~= 'table' then bad() end\n"
    "      local p = {worker = '', expires = 0}\n"
    "      get_string(e, 'worker', p, 128)\n"
    "      if not finite(e.expires) then bad() end\n"
    "      p.expires = e.expires\n"
    "      if #d.probes < 32 then\n"
    "        d.probes[#d.probes + 1] = p\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  local v = t.version\n"
    "  if not absent(v) and type(v) ~= 'number' then bad() end\n"
    "  return d\n"
    "end\n"
    "\n"
    "-- read: a missing key is the closed default; a key of another type or a\n"
    "-- malformed document is the closed default too, and gets overwritten\n"
    "local d = closed_doc()\n"
    "local malformed = false\n"
    "local raw = redis.pcall('GET', key)\n"
    "if type(raw) == 'table' then\n"
    "  malformed = true\n"
    "elseif raw then\n"
    "  local okay, parsed = pcall(decode, raw)\n"
    "  if okay then\n"
    "    d = parsed\n"
    "  else\n"
    "    malformed = true\n"
    "  end\n"
    "end\n"
    "\n"
    "-- the state machine\n"
    "local changed = false\n"
    "local event = 0\n"
    "local admit = 0\n"
    "\n"
    "local function cap()\n"
    "  if max_calls <= 0 then return 0 end\n"
    "  if max_calls > 32 then return 32 end\n"
    "  return max_calls\n"
    "end\n"
    "\n"
    "local function take_lease()\n"
    "  if #d.probes >= cap() then return 0 end\n"
    "  d.probes[#d.probes + 1] = {worker = cstr(worker, 128),\n"
    "                             expires = now + probe_timeout}\n"
    "  changed = true\n"
    "  return 2\n"
    "end\n"
    "\n"
    "local function to_open(reason)\n"
    "  d.state = 'open'\n"
    "  d.opened_at = now\n"
    "  d.retry_at = now + recovery\n"
    "  d.reason = reason\n"
    "  d.probes = {}\n"
    "end\n"
    "\n"
    "local function to_closed()\n"
    "  d.state = 'closed'\n"
    "  d.failure_count = 0\n"
    "  d.success_count = 0\n"
    "  d.opened_at = 0\n"
    "  d.retry_at = 0\n"
    "  d.forced = false\n"
    "  d.probes = {}\n"
    "end\n"
    "\n"
    "local kept = {}\n"
    "for _, p in ipairs(d.probes) do\n"
    "  if p.expires > now then\n"
    "    kept[#kept + 1] = p\n"
    "  end\n"
    "end\n"
    "if #kept ~= #d.probes then\n"
    "  changed = true\n"
    "end\n"
    "d.probes = kept\n"
    "\n"
    "if op == 1 then -- admit\n"
    "  if d.state == 'closed' then\n"
    "    admit = 1\n"
    "  elseif d.state == 'open' then\n"
    "    if not ((d.retry_at == 0 and d.forced) or now < d.retry_at) then\n"
    "      d.state = 'half_open'\n"
    "      d.success_count = 0\n"
    "      changed = true\n"
    "      admit = take_lease()\n"
    "      event = 3\n"
    "    end\n"
    "  else\n"
    "    admit = take_lease()\n"
    "  end\n"
    "elseif op == 2 then -- success\n"
    "  if d.state == 'closed' then\n"
    "    if d.failure_count > 0 then\n"
    "      d.failure_count = 0\n"
    "      changed = true\n"
    "    end\n"
    "  elseif d.state == 'half_open' and was_probe then\n"
    "    to_closed()\n"
    "    d.reason = 'probe_succeeded'\n"
    "    changed = true\n"
    "    event = 2\n"
    "  end\n"
    "elseif op == 3 then -- failure\n"
    "  d.failure_count = d.failure_count + 1\n"
    "  changed = true\n"
    "  if d.state == 'closed' then\n"
    "    if d.failure_count >= threshold then\n"
    "      to_open('failure_threshold')\n"
    "      event = 1\n"
    "    end\n"
    "  elseif d.state == 'half_open' and was_probe then\n"
    "    to_open('probe_failed')\n"
    "    event = 1\n"
    "  end\n"
    "elseif op == 4 then -- open until\n"
    "  d.failure_count = d.failure_count + 1\n"
    "  if d.state ~= 'open' then\n"
    "    d.state = 'open'\n"
    "    d.opened_at = now\n"
    "    event = 1\n"
    "  end\n"
    "  if till > d.retry_at then\n"
    "    d.retry_at = till\n"
    "  end\n"
    "  d.reason = 'retry_after'\n"
    "  d.probes = {}\n"
    "  changed = true\n"
    "elseif op == 5 then -- reset\n"
    "  to_closed()\n"
    "  d.reason = 'reset'\n"
    "  changed = true\n"
    "  event = 2\n"
    "elseif op == 6 then -- force open\n"
    "  d.state = 'open'\n"
    "  d.forced = true\n"
    "  d.opened_at = now\n"
    "  if till > 0 then d.retry_at = till else d.retry_at = 0 end\n"
    "  d.reason = 'manual'\n"
    "  d.probes = {}\n"
    "  changed = true\n"
    "  event = 1\n"
    "end\n"
    "if changed then\n"
    "  d.changed_at = now\n"
    "  d.changed_by = cstr(worker, 128)\n"
    "end\n"
    "\n"
    "-- encode exactly as fx_bdoc_to_json() does\n"
    "local function esc(c)\n"
    "  if c == '\"' or c == '\\\\' then\n"
    "    return '\\\\' .. c\n"
    "  end\n"
    "  return string.format('\\\\u%04x', string.byte(c))\n"
    "end\n"
    "\n"
    "local function str(s)\n"
    "  if not string.find(s, '[\\1-\\31\"\\\\]') then\n"
    "    return '\"' .. s .. '\"'\n"
    "  end\n"
    "  return '\"' .. string.gsub(s, '[\\1-\\31\"\\\\]', esc) .. '\"'\n"
    "end\n"
    "\n"
    "local function num(v)\n"
    "  if not finite(v) then v = 0 end\n"
    "  if v == 0 then\n"
    "    return 1 / v < 0 and '-0' or '0'\n"
    "  end\n"
    "  if v == math.floor(v) and v > -1e15 and v < 1e15 then\n"
    "    return string.format('%d', v) -- what %.15g prints for these\n"
    "  end\n"
    "  local s\n"
    "  for prec = 15, 17 do\n"
    "    s = string.format('%.' .. prec .. 'g', v)\n"
    "    if tonumber(s) == v then break end\n"
    "  end\n"
    "  return s\n"
    "end\n"
    "\n"
    "local parts = {'{\"state\":', str(d.state),\n"
    "  ',\"failure_count\":', string.format('%d', d.failure_count),\n"
    "  ',\"success_count\":', string.format('%d', d.success_count),\n"
    "  ',\"opened_at\":', num(d.opened_at), ',\"retry_at\":', "
    "num(d.retry_at),\n"
    "  ',\"changed_at\":', num(d.changed_at), ',\"changed_by\":', "
    "str(d.changed_by),\n"
    "  ',\"reason\":', str(d.reason),\n"
    "  d.forced and ',\"forced\":true' or ',\"forced\":false', "
    "',\"probes\":['}\n"
    "for i, p in ipairs(d.probes) do\n"
    "  parts[#parts + 1] = (i > 1 and ',' or '') .. '{\"worker\":' .. "
    "str(p.worker) ..\n"
    "    ',\"expires\":' .. num(p.expires) .. '}'\n"
    "end\n"
    "parts[#parts + 1] = '],\"version\":1}'\n"
    "local doc = table.concat(parts)\n"
    "\n"
    "if changed or malformed then\n"
    "  if ttl > 0 then\n"
    "    redis.call('SET', key, doc, 'EX', ttl)\n"
    "  else\n"
    "    redis.call('SET', key, doc)\n"
    "  end\n"
    "end\n"
    "\n"
    "-- events in the Python FlexiAI shape; head and middle come from\n"
    "-- fx_event_json() so the bytes are the same as the C side's\n"
    "local names = {'opened', 'closed', 'half_open', 'failure', 'success'}\n"
    "local function publish(ev)\n"
    "  redis.call('PUBLISH', channel, ev_head .. names[ev] .. ev_mid ..\n"
    "    string.format('%d', d.failure_count) .. ', \"success_count\": ' ..\n"
    "    string.format('%d', d.success_count) ..\n"
    "    '}, \"__event_type__\": \"CircuitBreakerEvent\"}')\n"
    "end\n"
    "if outcomes then\n"
    "  if op == 2 then\n"
    "    publish(5)\n"
    "  elseif op == 3 or op == 4 then\n"
    "    publish(4)\n"
    "  end\n"
    "end\n"
    "if event ~= 0 then\n"
    "  publish(event)\n"
    "end\n"
    "\n"
    "return {event, admit, doc, malformed and 1 or 0}\n";

/* ---- SHA-1 (for EVALSHA; FIPS 180-4) ---------------------------------- */

static uint32_t
rol32(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

static void
sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol32(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* hex SHA-1 of data into out[41], as SCRIPT LOAD names a script */
static void
sha1_hex(const void *data, size_t len, char out[41])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
                     0xC3D2E1F0};
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t full = len / 64 * 64, rest = len - full;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t off = 0; off < full; off += 64)
        sha1_block(h, p + off);
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tlen = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < tlen; off += 64)
        sha1_block(h, tail + off);
    for (int i = 0; i < 5; i++)
        snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* ---- helpers ------------------------------------------------------------ */

static void set_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(char **err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    free(*err);
    *err = fxu_vasprintf(fmt, ap);
    va_end(ap);
}

static void log_warn(flexiai_log_fn log, void *ud, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
log_warn(flexiai_log_fn log, void *ud, const char *fmt, ...)
{
    if (log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = fxu_vasprintf(fmt, ap);
    va_end(ap);
    log(ud, FLEXIAI_LOG_WARN, msg);
    free(msg);
}

static const char *
or_default(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* How messages name the server: never the url, which may hold a password */
static char *
server_name(const struct fx_sync *s)
{
    if (s->redis_unix && *s->redis_unix)
        return fxu_asprintf("redis unix:%s", s->redis_unix);
    const char *host = or_default(s->redis_host, DEFAULT_HOST);
    long port = s->redis_port > 0 ? s->redis_port : DEFAULT_PORT;
    if (strchr(host, ':'))
        return fxu_asprintf("redis [%s]:%ld", host, port);
    return fxu_asprintf("redis %s:%ld", host, port);
}

static struct timeval
to_timeval(double seconds)
{
    struct timeval tv = {0, 0};
    if (seconds > 0 && isfinite(seconds)) {
        tv.tv_sec = (time_t)seconds;
        tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
        if (tv.tv_sec == 0 && tv.tv_usec == 0)
            tv.tv_usec = 1;
    }
    return tv;
}

/* hiredis says "Resource temporarily unavailable" for a read timeout */
static const char *
io_error(const redisContext *c)
{
    if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0)
        return "timed out";
    return c->errstr[0] ? c->errstr : "connection error";
}

/*
 * hiredis writes with write(2): a server that went away would kill the
 * process with SIGPIPE.  Block it around our I/O and swallow one raised by
 * us, leaving the process's own handling of SIGPIPE (and any SIGPIPE that
 * was already pending) alone.
 */
struct pipe_guard {
    sigset_t old;
    int was_pending;
};

static void
pipe_guard_on(struct pipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
pipe_guard_off(struct pipe_guard *g)
{
    int saved = errno;
    if (!g->was_pending) {
        sigset_t set, pending;
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                ;
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = saved;
}

/* An error reply as one line (Redis error messages are one line). */
static const char *
reply_text(const redisReply *r)
{
    if (r == NULL)
        return "no reply";
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS)
        return r->str ? r->str : "";
    return "unexpected reply";
}

/* ---- connecting -------------------------------------------------------- */

/*
 * Connect, authenticate and select the database (AUTH and SELECT pipelined
 * in one round trip; none at all without them).  Returns the context with
 * the command timeout set, or NULL with *err.
 */
static redisContext *
redis_connect(const struct fx_sync *s, const char *where, char **err)
{
    redisContext *c;
    struct timeval ctv = to_timeval(s->redis_socket_connect_timeout);
    int has_timeout = ctv.tv_sec > 0 || ctv.tv_usec > 0;

    if (s->redis_ssl) {
#ifdef HAVE_HIREDIS_SSL
        /* TODO: redisInitiateSSLWithContext() once a TLS-capable hiredis
         * can be tested; until then refuse rather than talk in clear */
        set_err(err, "%s: TLS connections to Redis are not implemented yet",
                where);
#else
        set_err(err,
                "%s: this build of flexiai has no TLS support for Redis "
                "(hiredis without SSL)",
                where);
#endif
        return NULL;
    }

    if (s->redis_unix && *s->redis_unix)
        c = has_timeout ? redisConnectUnixWithTimeout(s->redis_unix, ctv)
                        : redisConnectUnix(s->redis_unix);
    else {
        const char *host = or_default(s->redis_host, DEFAULT_HOST);
        int port = s->redis_port > 0 ? (int)s->redis_port : DEFAULT_PORT;
        c = has_timeout ? redisConnectWithTimeout(host, port, ctv)
                        : redisConnect(host, port);
    }
    if (c == NULL) {
        set_err(err, "%s: cannot allocate a connection", where);
        return NULL;
    }
    if (c->err) {
        set_err(err, "%s: %s", where, c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, to_timeval(s->redis_socket_timeout));

    int nsent = 0, auth = 0;
    if (s->redis_password && *s->redis_password) {
        if (s->redis_username && *s->redis_username) {
            const char *argv[] = {"AUTH", s->redis_username, s->redis_password};
            redisAppendCommandArgv(c, 3, argv, NULL);
        } else {
            const char *argv[] = {"AUTH", s->redis_password};
            redisAppendCommandArgv(c, 2, argv, NULL);
        }
        auth = 1;
        nsent++;
    }
    if (s->redis_db != 0) {
        char db[32];
        snprintf(db, sizeof(db), "%ld", s->redis_db);
        const char *argv[] = {"SELECT", db};
        redisAppendCommandArgv(c, 2, argv, NULL);
        nsent++;
    }

    struct pipe_guard g;
    int failed = 0;
    pipe_guard_on(&g);
    for (int i = 0; i < nsent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            set_err(err, "%s: %s", where, io_error(c));
            failed = 1;
            break;
        }
        if (r->type == REDIS_REPLY_ERROR && !failed) {
            /* Redis's messages never echo the password */
            if (auth && i == 0)
                set_err(err, "%s: authentication failed: %s", where, r->str);
            else
                set_err(err, "%s: SELECT %ld failed: %s", where, s->redis_db,
                        r->str);
            failed = 1;
        }
        freeReplyObject(r);
    }
    pipe_guard_off(&g);
    if (failed) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* ---- the store ---------------------------------------------------------- */

static void redis_close(struct fx_store *st);

static int
redis_open(struct fx_store **out, const struct fx_settings *s, char **err)
{
    *out = NULL;
    if (s == NULL) {
        set_err(err, "redis: no settings");
        return -1;
    }
    const struct fx_sync *sync = &s->sync;
    struct fx_store *st = fxu_xcalloc(1, sizeof(*st));
    st->where = server_name(sync);
    st->key_prefix = fxu_strdup(or_default(sync->key_prefix, DEFAULT_PREFIX));
    st->channel = fxu_strdup(or_default(sync->channel, DEFAULT_CHANNEL));
    st->worker = fxu_strdup(or_default(sync->worker_id, ""));
    st->state_ttl = sync->state_ttl;
    st->publish_outcomes = sync->publish_outcomes != 0;
    sha1_hex(update_script, sizeof(update_script) - 1, st->sha);
    st->c = redis_connect(sync, st->where, err);
    if (st->c == NULL) {
        redis_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

static void
redis_close(struct fx_store *st)
{
    if (st == NULL)
        return;
    if (st->c)
        redisFree(st->c);
    free(st->where);
    free(st->key_prefix);
    free(st->channel);
    free(st->worker);
    free(st);
}

static char *
state_key(const struct fx_store *st, const char *provider)
{
    return fxu_asprintf("%s:state:%s", st->key_prefix, provider);
}

/* Fail fast once the connection is gone. */
static int
check_usable(struct fx_store *st, char **err)
{
    if (st->broken || st->c == NULL || st->c->err) {
        st->broken = 1;
        set_err(err, "%s: connection unusable after an earlier error",
                st->where);
        return -1;
    }
    return 0;
}

/*
 * Read the replies of `n` pipelined commands into replies[].  On a
 * connection failure the store is broken: -1 with *err, replies freed.
 */
static int
read_replies(struct fx_store *st, redisReply **replies, size_t n, char **err)
{
    struct pipe_guard g;
    int rc = 0;

    pipe_guard_on(&g);
    for (size_t i = 0; i < n; i++) {
        replies[i] = NULL;
        if (rc == 0 && redisGetReply(st->c, (void **)&replies[i]) != REDIS_OK) {
            st->broken = 1;
            set_err(err, "%s: %s", st->where, io_error(st->c));
            rc = -1;
        }
    }
    pipe_guard_off(&g);
    if (rc < 0)
        for (size_t i = 0; i < n; i++) {
            if (replies[i])
                freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
    return rc;
}

static redisReply *
command_argv(struct fx_store *st, int argc, const char **argv,
             const size_t *lens, char **err)
{
    redisReply *r = NULL;
    if (redisAppendCommandArgv(st->c, argc, argv, lens) != REDIS_OK) {
        st->broken = 1;
        set_err(err, "%s: %s", st->where, io_error(st->c));
        return NULL;
    }
    if (read_replies(st, &r, 1, err) < 0)
        return NULL;
    return r;
}

/*
 * MGET of every key and a TYPE of each, in one round trip: MGET answers
 * nil for a key holding a list or hash, which is as wrong as a malformed
 * document and must be reported the same way.
 */
static int
redis_load(struct fx_store *st, const char *const *providers, size_t n,
           struct fx_bdoc *docs, int *bad, char **err)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        fx_bdoc_init(&docs[i]);
        if (bad)
            bad[i] = 0;
    }
    if (n == 0)
        return 0;
    if (check_usable(st, err) < 0)
        return -1;

    const char **argv = fxu_xcalloc(n + 1, sizeof(*argv));
    char **keys = fxu_xcalloc(n, sizeof(*keys));
    redisReply **replies = fxu_xcalloc(n + 1, sizeof(*replies));
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys[i] = state_key(st, providers[i]);
    int ok = redisAppendCommandArgv(st->c, (int)n + 1, argv, NULL) == REDIS_OK;
    for (size_t i = 0; ok && i < n; i++) {
        const char *targv[] = {"TYPE", keys[i]};
        ok = redisAppendCommandArgv(st->c, 2, targv, NULL) == REDIS_OK;
    }
    if (!ok) {
        st->broken = 1;
        set_err(err, "%s: %s", st->where, io_error(st->c));
        rc = -1;
    } else if (read_replies(st, replies, n + 1, err) < 0) {
        rc = -1;
    }

    const redisReply *mget = replies[0];
    if (rc == 0 && (mget->type != REDIS_REPLY_ARRAY || mget->elements != n)) {
        set_err(err, "%s: MGET failed: %s", st->where, reply_text(mget));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const redisReply *v = mget->element[i];
        const redisReply *t = replies[i + 1];
        int is_bad = 0;
        if (v->type == REDIS_REPLY_STRING)
            is_bad = fx_bdoc_from_json(v->str, v->len, &docs[i]) < 0;
        else if (t->type == REDIS_REPLY_STATUS && t->str &&
                 strcmp(t->str, "none") != 0 && strcmp(t->str, "string") != 0)
            is_bad = 1; /* a list, hash, ... where the document belongs */
        if (bad)
            bad[i] = is_bad;
    }
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            fx_bdoc_init(&docs[i]);

    for (size_t i = 0; i <= n; i++)
        if (replies[i])
            freeReplyObject(replies[i]);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(replies);
    free(keys);
    free(argv);
    return rc;
}

/*
 * The parts of fx_event_json()'s output around the event name and around
 * the counts, which only the script knows:
 *   head: {"provider_name": "P", "event_type": "
 *   mid:  ", "worker_id": "W", "timestamp": "T", "metadata": {"failure_count":
 * The cuts are unambiguous: inside a JSON string every quote is escaped,
 * so the first unescaped `, "event_type": "` follows the provider name.
 */
static int
event_pieces(const char *provider, const char *worker, double now, char **head,
             char **mid)
{
    static const char name_key[] = ", \"event_type\": \"";
    static const char count_key[] = "\"metadata\": {\"failure_count\": ";
    static const char name[] = "opened";
    char *json = fx_event_json(provider, FX_EV_OPENED, worker, now, 0, 0);
    char *a = strstr(json, name_key);
    char *b = a ? a + strlen(name_key) : NULL;
    char *c = b && strncmp(b, name, strlen(name)) == 0
                  ? strstr(b + strlen(name), count_key)
                  : NULL;
    if (c == NULL) {
        free(json);
        return -1;
    }
    *head = fxu_strndup(json, (size_t)(b - json));
    b += strlen(name);
    c += strlen(count_key);
    *mid = fxu_strndup(b, (size_t)(c - b));
    free(json);
    return 0;
}

/* An exact decimal form of a double for the script (tonumber reads it
 * back bit for bit). */
static void
fmt_double(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.17g", isfinite(v) ? v : 0.0);
}

static int
is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && r->str &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* {event, admit, document, malformed} from the script */
static int
script_result(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
           r->element[0]->type == REDIS_REPLY_INTEGER &&
           r->element[1]->type == REDIS_REPLY_INTEGER &&
           r->element[2]->type == REDIS_REPLY_STRING &&
           r->element[3]->type == REDIS_REPLY_INTEGER;
}

/*
 * On failure the result, event and admit outputs hold the operation applied
 * to a closed default in memory, as the file store does, so a caller may
 * carry on.
 */
static int
redis_update(struct fx_store *st, const char *provider, const struct fx_bop *op,
             struct fx_bdoc *result, int *event, int *admit, char **err)
{
    struct fx_bdoc doc;
    int ev = FX_EV_NONE, adm = FX_ADMIT_NO, rc = -1;
    char *key = NULL, *head = NULL, *mid = NULL;
    redisReply *r = NULL;

    fx_bdoc_init(&doc);
    if (provider == NULL) {
        set_err(err, "%s: no provider name", st->where);
        goto fallback;
    }
    if (check_usable(st, err) < 0)
        goto fallback;
    const char *worker = op->worker ? op->worker : st->worker;
    if (event_pieces(provider, worker, op->now, &head, &mid) < 0) {
        set_err(err, "%s: cannot build the event for %s", st->where, provider);
        goto fallback;
    }

    char kind[16], now[32], until[32], threshold[32], recovery[32],
        max_calls[32], probe_timeout[32], ttl[32];
    snprintf(kind, sizeof(kind), "%d", op->kind);
    fmt_double(now, sizeof(now), op->now);
    fmt_double(until, sizeof(until), op->until);
    snprintf(threshold, sizeof(threshold), "%ld", op->failure_threshold);
    fmt_double(recovery, sizeof(recovery), op->recovery_timeout);
    snprintf(max_calls, sizeof(max_calls), "%ld", op->half_open_max_calls);
    fmt_double(probe_timeout, sizeof(probe_timeout), op->probe_timeout);
    snprintf(ttl, sizeof(ttl), "%ld", st->state_ttl);
    key = state_key(st, provider);

    const char *argv[] = {
        "EVALSHA",
        st->sha,
        "1",
        key,
        kind,
        now,
        until,
        worker,
        op->was_probe ? "1" : "0",
        threshold,
        recovery,
        max_calls,
        probe_timeout,
        ttl,
        st->channel,
        st->publish_outcomes ? "1" : "0",
        head,
        mid,
    };
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    r = command_argv(st, argc, argv, NULL, err);
    if (r && is_noscript(r)) {
        /* first use on this server (or after SCRIPT FLUSH): EVAL also
         * caches the script for everyone's next EVALSHA */
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = update_script;
        r = command_argv(st, argc, argv, NULL, err);
    }
    if (r == NULL)
        goto fallback;
    if (r->type == REDIS_REPLY_ERROR || !script_result(r)) {
        set_err(err, "%s: breaker update for %s failed: %s", st->where,
                provider, reply_text(r));
        goto fallback;
    }
    const redisReply *d = r->element[2];
    if (fx_bdoc_from_json(d->str, d->len, &doc) < 0) {
        set_err(err,
                "%s: breaker update for %s returned a malformed "
                "document",
                st->where, provider);
        goto fallback;
    }
    ev = (int)r->element[0]->integer;
    adm = (int)r->element[1]->integer;
    /* element[3] says a malformed document (or a key of another type) was
     * overwritten.  Nothing to add here: the client reports malformed
     * state from load(), which every request does before updating. */
    rc = 0;
    goto done;

fallback:
    fx_bdoc_init(&doc);
    ev = fx_breaker_apply(&doc, op, &adm, NULL);
done:
    if (r)
        freeReplyObject(r);
    free(key);
    free(head);
    free(mid);
    if (result)
        *result = doc;
    if (event)
        *event = ev;
    if (admit)
        *admit = adm;
    return rc;
}

static int
redis_publish(struct fx_store *st, const char *provider, int event,
              const struct fx_bdoc *d, char **err)
{
    if (check_usable(st, err) < 0)
        return -1;
    char *json =
        fx_event_json(provider, event, st->worker, fxu_wallclock(),
                      d ? d->failure_count : 0, d ? d->success_count : 0);
    const char *argv[] = {"PUBLISH", st->channel, json};
    redisReply *r = command_argv(st, 3, argv, NULL, err);
    free(json);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_INTEGER) {
        set_err(err, "%s: PUBLISH failed: %s", st->where, reply_text(r));
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

const struct fx_store_ops fx_store_redis = {
    "redis", redis_open, redis_close, redis_load, redis_update, redis_publish,
};

/* ---- watch -------------------------------------------------------------- */

static int
is_stopped(volatile sig_atomic_t *stop)
{
    return stop && *stop;
}

static redisContext *
watch_subscribe(const struct fx_sync *s, const char *where, const char *channel,
                char **err)
{
    redisContext *c = redis_connect(s, where, err);
    if (c == NULL)
        return NULL;
    const char *argv[] = {"SUBSCRIBE", channel};
    struct pipe_guard g;
    pipe_guard_on(&g);
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    pipe_guard_off(&g);
    if (r == NULL) {
        set_err(err, "%s: %s", where, io_error(c));
        redisFree(c);
        return NULL;
    }
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "subscribe") == 0;
    if (!ok)
        set_err(err, "%s: SUBSCRIBE failed: %s", where, reply_text(r));
    freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* A message as it may appear in a one-line log: printable, shortened. */
static char *
log_excerpt(const char *s, size_t len)
{
    size_t max = 80, n = len < max ? len : max;
    char *out = fxu_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    strcpy(out + n, len > max ? "..." : "");
    return out;
}

struct watch {
    const char *channel;
    flexiai_event_fn fn;
    void *ud;
    volatile sig_atomic_t *stop;
    flexiai_log_fn log;
    void *log_ud;
};

/* One pushed reply.  Returns non-zero when the callback asks to stop. */
static int
watch_message(struct watch *w, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return 0; /* subscribe confirmations, pongs */

    const redisReply *payload = r->element[2];
    flexiai_event ev;
    void *owned = NULL;
    if (strlen(payload->str) != payload->len ||
        fx_event_parse(payload->str, &ev, &owned) < 0) {
        char *text = log_excerpt(payload->str, payload->len);
        log_warn(w->log, w->log_ud, "ignoring malformed event on %s: %s",
                 w->channel, text);
        free(text);
        return 0;
    }
    int rc = w->fn ? w->fn(w->ud, &ev) : 0;
    free(owned);
    return rc;
}

static int
send_ping(redisContext *c)
{
    struct pipe_guard g;
    int done = 0, rc = REDIS_OK;
    if (redisAppendCommand(c, "PING") != REDIS_OK)
        return REDIS_ERR;
    pipe_guard_on(&g);
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(c, &done);
    pipe_guard_off(&g);
    return rc;
}

/*
 * Deliver messages until the callback or *stop ends it (1), or the
 * connection is lost (-1 with *err).  poll() on the socket rather than
 * hiredis's blocking read: a read timeout would poison the context, and a
 * message waiting must be handed on at once.
 */
static int
watch_read(struct watch *w, redisContext *c, const char *where, char **err)
{
    double last_rx = fxu_monotonic(), ping_at = 0;

    for (;;) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(c, (void **)&r) != REDIS_OK) {
            set_err(err, "%s: %s", where, io_error(c));
            return -1;
        }
        if (r) {
            int done = watch_message(w, r);
            freeReplyObject(r);
            if (done)
                return 1;
            continue;
        }
        if (is_stopped(w->stop))
            return 1;

        struct pollfd pfd = {c->fd, POLLIN, 0};
        int n = poll(&pfd, 1, WATCH_POLL_MS);
        if (n < 0 && errno != EINTR) {
            set_err(err, "%s: %s", where, strerror(errno));
            return -1;
        }
        double now = fxu_monotonic();
        if (n > 0) {
            if (redisBufferRead(c) != REDIS_OK) {
                set_err(err, "%s: %s", where, io_error(c));
                return -1;
            }
            last_rx = now;
            ping_at = 0;
            continue;
        }
        /* quiet: a PING tells a silent server from a vanished one */
        if (ping_at == 0 && now - last_rx >= WATCH_PING_IDLE) {
            if (send_ping(c) != REDIS_OK) {
                set_err(err, "%s: %s", where, io_error(c));
                return -1;
            }
            ping_at = now;
        } else if (ping_at != 0 && now - ping_at >= WATCH_PING_WAIT) {
            set_err(err, "%s: no answer to PING", where);
            return -1;
        }
    }
}

/*
 * Subscribe and deliver events until *stop or the callback says so.
 * Neither a failed first connection nor a lost one ends the watch: it
 * reconnects with backoff (100 ms doubling to 5 s) and says so through
 * the log callback, once per outage.
 */
int
fx_redis_watch(const struct fx_settings *s, flexiai_event_fn fn, void *ud,
               volatile sig_atomic_t *stop, flexiai_log_fn log, void *log_ud)
{
    if (s == NULL)
        return FLEXIAI_ESOFTWARE;
    const struct fx_sync *sync = &s->sync;
    char *where = server_name(sync);
    struct watch w = {
        or_default(sync->channel, DEFAULT_CHANNEL), fn, ud, stop, log, log_ud};
    double delay = WATCH_BACKOFF_MIN;
    enum { FINE, NEVER_CONNECTED, LOST } trouble = FINE;

    while (!is_stopped(stop)) {
        char *err = NULL;
        redisContext *c = watch_subscribe(sync, where, w.channel, &err);
        if (c == NULL) {
            if (trouble == FINE) {
                log_warn(log, log_ud, "cannot connect to redis (%s); retrying",
                         err);
                trouble = NEVER_CONNECTED;
            }
            free(err);
            fxu_sleep(delay, stop);
            delay =
                delay * 2 < WATCH_BACKOFF_MAX ? delay * 2 : WATCH_BACKOFF_MAX;
            continue;
        }
        if (trouble == LOST)
            log_warn(log, log_ud, "reconnected to redis");
        else if (trouble == NEVER_CONNECTED)
            log_warn(log, log_ud, "connected to redis");
        trouble = FINE;
        delay = WATCH_BACKOFF_MIN;

        int rc = watch_read(&w, c, where, &err);
        redisFree(c);
        if (rc > 0) {
            free(err);
            break;
        }
        log_warn(log, log_ud, "redis connection lost (%s); reconnecting", err);
        free(err);
        trouble = LOST;
        fxu_sleep(delay, stop);
        delay = delay * 2 < WATCH_BACKOFF_MAX ? delay * 2 : WATCH_BACKOFF_MAX;
    }
    free(where);
    return 0;
}
