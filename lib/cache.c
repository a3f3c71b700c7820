/*
 * cache.c - the response cache's keys and entries: the canonical
 * serialisation of a request (every field a tag, its length and its
 * bytes, so no two requests serialise alike), its SHA-256, an entry as
 * JSON, and [cache] as the configuration says.
 *
 * The digests use OpenSSL's SHA-256 functions of its own (SHA256_Init...),
 * deprecated since 3.0 in favour of EVP but kept: EVP's first use loads
 * openssl.cnf and fetches a provider, which cost an answer from the cache
 * more than the rest of its work together (measured with perf on a hit).
 */
#include "config.h"

/* SHA256_Init and friends, on purpose (above) */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "cache.h"
#include "fxu.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_TTL 86400.0

static void
to_hex(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void
fx_cache_sha256_hex(const void *p, size_t n, char hex[65])
{
    /* not SHA256(): in OpenSSL 3 that one goes through EVP */
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, p, n);
    SHA256_Final(md, &ctx);
    to_hex(md, sizeof(md), hex);
}

/* ---- the canonical serialisation ----------------------------------------- */

/* tag, length, ':', the bytes: "m5:hello" */
static void
put(fxu_buf *b, char tag, const char *s, size_t n)
{
    fxu_buf_printf(b, "%c%zu:", tag, n);
    fxu_buf_append(b, s ? s : "", n);
}

static void
puts_opt(fxu_buf *b, char tag, const char *s)
{
    if (s == NULL)
        fxu_buf_putc(b, '-'); /* unset differs from "" */
    else
        put(b, tag, s, strlen(s));
}

static void
put_num(fxu_buf *b, char tag, double v)
{
    char num[40];
    snprintf(num, sizeof(num), "%.17g", v);
    put(b, tag, num, strlen(num));
}

/* A file's bytes, hashed; -1 when it cannot be read. */
static int
hash_file(const char *path, char hex[65], char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = fxu_asprintf("%s: cannot read the attachment", path);
        return -1;
    }
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        SHA256_Update(&ctx, buf, (size_t)r);
    close(fd);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &ctx);
    if (r < 0) {
        *err = fxu_asprintf("%s: cannot read the attachment", path);
        return -1;
    }
    to_hex(md, sizeof(md), hex);
    return 0;
}

static int
put_attachment(fxu_buf *b, const flexiai_attachment *a, char **err)
{
    char hex[65];
    if (a->data) {
        fx_cache_sha256_hex(a->data, a->len, hex);
        put(b, 'd', hex, 64);
    } else if (a->path) {
        if (hash_file(a->path, hex, err) != 0)
            return -1;
        put(b, 'f', hex, 64);
    } else {
        puts_opt(b, 'u', a->url);
    }
    puts_opt(b, 'y', a->mime);
    puts_opt(b, 'n', a->name);
    return 0;
}

static int
put_message(fxu_buf *b, const flexiai_message *m, char **err)
{
    puts_opt(b, 'r', m->role);
    puts_opt(b, 'c', m->content);
    puts_opt(b, 'R', m->reasoning_state);
    put_num(b, 'A', (double)m->nattachments);
    for (size_t i = 0; i < m->nattachments; i++)
        if (put_attachment(b, &m->attachments[i], err) != 0)
            return -1;
    put_num(b, 'T', (double)m->ntool_calls);
    for (size_t i = 0; i < m->ntool_calls; i++) {
        puts_opt(b, 'i', m->tool_calls[i].id);
        puts_opt(b, 'n', m->tool_calls[i].name);
        puts_opt(b, 'a', m->tool_calls[i].arguments);
    }
    puts_opt(b, 'I', m->tool_call_id);
    puts_opt(b, 'N', m->tool_name);
    put_num(b, 'E', m->is_error);
    return 0;
}

int
fx_cache_key(const struct fx_cache_key_in *in, char hex[65], char **err)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "flexiai-cache-1;");
    puts_opt(&b, 'P', in->provider);
    puts_opt(&b, 'M', in->model);
    const struct fx_params *p = in->params;
    puts_opt(&b, 's', p->system);
    put_num(&b, 't', p->temperature);
    put_num(&b, 'p', p->top_p);
    put_num(&b, 'k', (double)p->top_k);
    put_num(&b, 'x', (double)p->max_tokens);
    put_num(&b, 'z', p->reasoning);
    put_num(&b, 'w', in->want_reasoning);
    size_t nstop = 0;
    while (p->stop && p->stop[nstop])
        nstop++;
    put_num(&b, 'S', (double)nstop);
    for (size_t i = 0; i < nstop; i++)
        puts_opt(&b, 'o', p->stop[i]);
    puts_opt(&b, 'J', in->schema_text);
    put_num(&b, 'L', (double)in->ntools);
    for (size_t i = 0; i < in->ntools; i++) {
        puts_opt(&b, 'n', in->tools[i].name);
        puts_opt(&b, 'e', in->tools[i].description);
        puts_opt(&b, 'q', in->tools[i].parameters);
    }
    put_num(&b, 'm', (double)in->nmsgs);
    for (size_t i = 0; i < in->nmsgs; i++)
        if (put_message(&b, &in->msgs[i], err) != 0) {
            fxu_buf_free(&b);
            return -1;
        }
    fx_cache_sha256_hex(b.data, b.len, hex);
    fxu_buf_free(&b);
    return 0;
}

/* ---- entries ------------------------------------------------------------- */

static void
add_str(cJSON *o, const char *name, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, name, s);
}

char *
fx_cache_entry_encode(const struct fx_cache_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "text", e->text);
    add_str(o, "model", e->model);
    add_str(o, "provider", e->provider);
    add_str(o, "finish_reason", e->finish_reason);
    add_str(o, "json", e->json);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)e->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens",
                            (double)e->completion_tokens);
    cJSON_AddNumberToObject(o, "created", e->created);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        abort();
    char *out = fxu_strdup(s);
    cJSON_free(s);
    return out;
}

static char *
get_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? fxu_strdup(v->valuestring) : NULL;
}

static double
get_num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int
fx_cache_entry_decode(const char *s, size_t n, struct fx_cache_entry *e)
{
    memset(e, 0, sizeof(*e));
    cJSON *o = cJSON_ParseWithLength(s, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    e->text = get_str(o, "text");
    e->model = get_str(o, "model");
    e->provider = get_str(o, "provider");
    e->finish_reason = get_str(o, "finish_reason");
    e->json = get_str(o, "json");
    e->prompt_tokens = (long)get_num(o, "prompt_tokens");
    e->completion_tokens = (long)get_num(o, "completion_tokens");
    e->created = get_num(o, "created");
    cJSON_Delete(o);
    if (e->text == NULL || e->provider == NULL) {
        fx_cache_entry_free(e);
        return -1;
    }
    return 0;
}

void
fx_cache_entry_free(struct fx_cache_entry *e)
{
    free(e->text);
    free(e->model);
    free(e->provider);
    free(e->finish_reason);
    free(e->json);
    memset(e, 0, sizeof(*e));
}

/* ---- [cache] ------------------------------------------------------------- */

void
fx_cache_conf_read(const flexiai_config *cfg, struct fx_cache_conf *cc)
{
    memset(cc, 0, sizeof(*cc));
    const char *v = fx_config_value(cfg, "cache", "mode");
    cc->on = v && strcmp(v, "on") == 0;
    cc->ttl = DEFAULT_TTL;
    v = fx_config_value(cfg, "cache", "ttl");
    if (v && fxu_parse_double(v, &cc->ttl) != 0)
        cc->ttl = DEFAULT_TTL;
    v = fx_config_value(cfg, "cache", "backend");
    cc->backend =
        v && strcmp(v, "redis") == 0 ? FX_CACHE_REDIS : FX_CACHE_SQLITE;
    long l = 0;
    v = fx_config_value(cfg, "cache", "max_bytes");
    if (v && fxu_parse_long(v, &l) == 0 && l > 0)
        cc->max_bytes = l;
    int b = 0;
    v = fx_config_value(cfg, "cache", "across_providers");
    cc->across = v && fxu_parse_bool(v, &b) == 0 && b;
}
