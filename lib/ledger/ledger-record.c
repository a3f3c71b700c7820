/*
 * ledger-record.c - ledger records without the database: built from a
 * finished request (a flexiai_result plus what the command knows) and
 * freed, with their fragments hashed and referred to, conversation ids,
 * [log] mode names, where the ledger lives and its directory (0700).  No
 * SQLite here: the request commands, which only append to the spool
 * (ledger-spool.c), link this file and not the database code.
 */
#include "config.h"

#include "ledger-int.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fx_ledger_mode_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    if (strcmp(name, "full") == 0)
        return FX_LEDGER_FULL;
    if (strcmp(name, "usage") == 0)
        return FX_LEDGER_USAGE;
    if (strcmp(name, "off") == 0)
        return FX_LEDGER_OFF;
    return -1;
}

char *
fx_ledger_path(const char *configured, char **err)
{
    if (configured && *configured)
        return fxu_strdup(configured);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/')
        return fxu_asprintf("%s/flexiai/logs.db", xdg);
    const char *home = getenv("HOME");
    if (home && *home)
        return fxu_asprintf("%s/.local/share/flexiai/logs.db", home);
    if (err)
        *err = fxu_strdup("no log database path: neither XDG_DATA_HOME nor "
                          "HOME is set");
    return NULL;
}

/* mkdir -p of the directory holding `path`, new components 0700. */
int
fx_ledger_make_parent(const char *path, char **err)
{
    char *dir = fxu_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            *err = fxu_asprintf("%s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(dir);
    return 0;
}

char *
fx_ledger_capped(const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    if (len <= max)
        return fxu_strdup(s);
    size_t cut = max;
    /* not inside a UTF-8 character: back over continuation bytes */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_append(&b, s, cut);
    fxu_buf_printf(&b, "\n[flexiai: cut to %zu of %zu bytes]", cut, len);
    return fxu_buf_steal(&b);
}

static void
copy_attempt(struct fx_ledger_attempt *dst, const flexiai_attempt *a)
{
    dst->provider = fxu_strdup(a->provider ? a->provider : "");
    dst->model = fxu_strdup(a->model);
    dst->outcome = fxu_strdup(a->outcome ? a->outcome : "error");
    dst->error_class =
        a->errclass ? fxu_strdup(flexiai_errclass_name(a->errclass)) : NULL;
    dst->http_status = a->http_status;
    dst->retry_after = a->retry_after;
    dst->latency_ms = a->latency_ms;
    dst->message = fx_ledger_capped(a->message, FX_LEDGER_NOTE_MAX);
    dst->probe = a->probe;
    dst->continuation = a->continuation;
    dst->text_bytes = (long)a->text_bytes;
    dst->has_usage = a->has_usage;
    dst->prompt_tokens = a->prompt_tokens;
    dst->completion_tokens = a->completion_tokens;
    dst->cached_tokens = a->cached_tokens;
    dst->cache_write_tokens = a->cache_write_tokens;
    dst->reasoning_tokens = a->reasoning_tokens;
}

/* Why a failed request failed: the last attempt that says so, else what
 * the exit code means. */
static const char *
failure_class(const flexiai_result *res, int exit_code)
{
    for (size_t i = res ? res->nattempts : 0; i > 0; i--)
        if (res->attempts[i - 1].errclass)
            return flexiai_errclass_name(res->attempts[i - 1].errclass);
    switch (exit_code) {
    case FLEXIAI_ECONFIG:
        return flexiai_errclass_name(FLEXIAI_E_CONFIG);
    case FLEXIAI_EINTR:
        return flexiai_errclass_name(FLEXIAI_E_CANCELLED);
    case FLEXIAI_EDATA:
        return flexiai_errclass_name(FLEXIAI_E_BAD_REQUEST);
    default:
        return flexiai_errclass_name(FLEXIAI_E_INTERNAL);
    }
}

void
fx_ledger_record_from_result(struct fx_ledger_record *rec,
                             const flexiai_result *res,
                             const flexiai_message *msgs, size_t nmsgs,
                             const struct fx_ledger_meta *meta)
{
    memset(rec, 0, sizeof(*rec));
    rec->time = meta->time > 0 ? meta->time : fxu_wallclock();
    rec->command = fxu_strdup(meta->command ? meta->command : "complete");
    rec->tag = fxu_strdup(meta->tag);
    rec->conversation_id = fxu_strdup(meta->conversation_id);
    rec->exit_code = meta->exit_code;
    rec->system = fx_ledger_capped(meta->system, FX_LEDGER_TEXT_MAX);
    rec->has_messages = 1;
    rec->messages = fxu_xcalloc(nmsgs + 1, sizeof(*rec->messages));
    size_t nkept = 0;
    for (size_t i = 0; i < nmsgs; i++) {
        const char *role = msgs[i].role ? msgs[i].role : "user";
        if (strcmp(role, "system") == 0) {
            if (rec->system == NULL)
                rec->system =
                    fx_ledger_capped(msgs[i].content, FX_LEDGER_TEXT_MAX);
            continue;
        }
        rec->messages[nkept].reasoning_state =
            fxu_strdup(msgs[i].reasoning_state);
        rec->messages[nkept++].role = fxu_strdup(role);
    }
    /* the newest messages matter most: they get the room first */
    size_t room = FX_LEDGER_MESSAGES_MAX;
    for (size_t i = nmsgs, k = nkept; i-- > 0;) {
        const char *role = msgs[i].role ? msgs[i].role : "user";
        if (strcmp(role, "system") == 0)
            continue;
        size_t cap = room < FX_LEDGER_TEXT_MAX ? room : FX_LEDGER_TEXT_MAX;
        char *c = fx_ledger_capped(msgs[i].content ? msgs[i].content : "", cap);
        size_t used = strlen(c);
        room -= used < room ? used : room;
        rec->messages[--k].content = c;
    }
    rec->nmessages = nkept;
    fx_ledger_attach_from_msgs(rec, msgs, nmsgs);
    if (res == NULL)
        return;
    if (meta->exit_code == 0) {
        rec->provider = fxu_strdup(res->provider);
        rec->model = fxu_strdup(res->model);
    } else {
        rec->error = fx_ledger_capped(res->error, FX_LEDGER_TEXT_MAX);
        rec->error_class = fxu_strdup(failure_class(res, meta->exit_code));
    }
    rec->text = fx_ledger_capped(res->text, FX_LEDGER_TEXT_MAX);
    rec->reasoning_state = fxu_strdup(res->reasoning_state);
    rec->finish_reason = fxu_strdup(res->finish_reason);
    rec->has_usage = res->has_usage;
    rec->prompt_tokens = res->prompt_tokens;
    rec->completion_tokens = res->completion_tokens;
    rec->cached_tokens = res->cached_tokens;
    rec->cache_write_tokens = res->cache_write_tokens;
    rec->reasoning_tokens = res->reasoning_tokens;
    rec->cached = res->cached;
    rec->reasoning = fxu_strdup(res->reasoning);
    rec->latency_ms = res->latency_ms;
    rec->attempts = fxu_xcalloc(res->nattempts + 1, sizeof(*rec->attempts));
    rec->nattempts = res->nattempts;
    for (size_t i = 0; i < res->nattempts; i++)
        copy_attempt(&rec->attempts[i], &res->attempts[i]);
    if (res->nattempts > 0)
        rec->first_provider = fxu_strdup(rec->attempts[0].provider);
}

/* ---- fragments: stored once (ledger-fragments.c), referred to here ---- */

static char *
sha256_hex(const char *s, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";
    char *out = fxu_xmalloc(2 * 32 + 1);
    if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        memset(md, 0, 32);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return out;
}

/* The first occurrence of `what` in *s replaced by `by`. */
static void
replace_first(char **s, const char *what, const char *by)
{
    const char *hit = *s && *what ? strstr(*s, what) : NULL;
    if (hit == NULL)
        return;
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_append(&b, *s, (size_t)(hit - *s));
    fxu_buf_puts(&b, by);
    fxu_buf_puts(&b, hit + strlen(what));
    free(*s);
    *s = fxu_buf_steal(&b);
}

void
fx_ledger_fragments_from_entry(struct fx_ledger_record *rec,
                               const flexiai_ledger_entry *e)
{
    if (e->fragments == NULL || e->nfragments == 0)
        return;
    rec->fragments = fxu_xcalloc(e->nfragments, sizeof(*rec->fragments));
    for (size_t i = 0; i < e->nfragments; i++) {
        const char *c = e->fragments[i].content ? e->fragments[i].content : "";
        size_t len = strlen(c);
        char *hash = sha256_hex(c, len);
        size_t k = 0;
        while (k < rec->nfragments && strcmp(rec->fragments[k].hash, hash))
            k++;
        if (k < rec->nfragments) { /* the same text twice: once */
            free(hash);
            continue;
        }
        struct fx_ledger_fragment *f = &rec->fragments[rec->nfragments++];
        f->hash = hash;
        f->name = fxu_strdup(e->fragments[i].name ? e->fragments[i].name : "");
        f->content = fxu_strdup(c);
        f->size = (long long)len;
        char *ref = fxu_asprintf("%s%s]", FX_LEDGER_FRAGMENT_REF, hash);
        for (size_t m = 0; len > 0 && m < rec->nmessages; m++)
            replace_first(&rec->messages[m].content, c, ref);
        free(ref);
    }
}

void
fx_ledger_messages_free(struct fx_ledger_message *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].role);
        free(msgs[i].content);
        free(msgs[i].reasoning_state);
        for (size_t k = 0; k < msgs[i].natt; k++) {
            free(msgs[i].att[k].name);
            free(msgs[i].att[k].mime);
            free(msgs[i].att[k].sha256);
            free(msgs[i].att[k].source);
        }
        free(msgs[i].att);
    }
    free(msgs);
}

void
fx_ledger_record_free(struct fx_ledger_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->command);
    free(rec->tag);
    free(rec->conversation_id);
    free(rec->provider);
    free(rec->model);
    free(rec->system);
    fx_ledger_messages_free(rec->messages, rec->nmessages);
    free(rec->text);
    free(rec->reasoning);
    free(rec->finish_reason);
    free(rec->error);
    free(rec->error_class);
    free(rec->first_provider);
    free(rec->reasoning_state);
    free(rec->tool_calls);
    for (size_t i = 0; i < rec->nfragments; i++) { /* ledger-fragments.c */
        free(rec->fragments[i].hash);
        free(rec->fragments[i].name);
        free(rec->fragments[i].content);
    }
    free(rec->fragments);
    for (size_t i = 0; i < rec->nattempts; i++) {
        struct fx_ledger_attempt *a = &rec->attempts[i];
        free(a->provider);
        free(a->model);
        free(a->outcome);
        free(a->error_class);
        free(a->message);
    }
    free(rec->attempts);
    fx_ledger_attach_free(rec);
    memset(rec, 0, sizeof(*rec));
}

/* Random bytes are drawn 512 at a time (a batch makes an id per item:
 * one system call each was a visible share of its logging cost); a pool
 * per thread, refilled after a fork so that no two processes share ids. */
static __thread unsigned char cid_pool[512];
static __thread size_t cid_left;
static pthread_once_t cid_once = PTHREAD_ONCE_INIT;

static void
cid_forget(void)
{
    cid_left = 0;
}

static void
cid_atfork(void)
{
    pthread_atfork(NULL, NULL, cid_forget);
}

char *
fx_ledger_new_cid(void)
{
    unsigned char raw[8];
    pthread_once(&cid_once, cid_atfork);
    if (cid_left < sizeof(raw)) {
        ssize_t got = getrandom(cid_pool, sizeof(cid_pool), GRND_NONBLOCK);
        cid_left = got > 0 ? (size_t)got : 0;
    }
    if (cid_left >= sizeof(raw)) {
        cid_left -= sizeof(raw);
        memcpy(raw, cid_pool + cid_left, sizeof(raw));
        memset(cid_pool + cid_left, 0, sizeof(raw)); /* used once */
    } else {
        unsigned long long x = (unsigned long long)(fxu_wallclock() * 1e6) ^
                               ((unsigned long long)getpid() << 40);
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)(x >> (8 * i));
    }
    static const char hex[] = "0123456789abcdef";
    char *cid = fxu_xmalloc(2 * sizeof(raw) + 1);
    for (size_t i = 0; i < sizeof(raw); i++) {
        cid[2 * i] = hex[raw[i] >> 4];
        cid[2 * i + 1] = hex[raw[i] & 15];
    }
    cid[2 * sizeof(raw)] = '\0';
    return cid;
}
