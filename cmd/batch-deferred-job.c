/*
 * batch-deferred-job.c - a deferred job's file under the state directory:
 * written whole to a temporary file, synced and renamed over the old one,
 * so that a crash leaves the old record or the new one, never half; read
 * back with one line and 65 for a file that is not a job.
 */
#include "config.h"

#include "batch-deferred.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *
djob_dir(const flexiai_config *cfg, int create)
{
    const char *sd = flexiai_batchapi_state_dir(cfg);
    if (sd == NULL || *sd == '\0')
        tool_die(FLEXIAI_ECONFIG, "no state directory for deferred jobs (set "
                                  "[sync] state_dir or HOME)");
    char *dir = fxu_asprintf("%s/jobs", sd);
    if (create) {
        /* the state directory, then jobs/ in it */
        if (mkdir(sd, 0700) != 0 && errno != EEXIST) {
            char *parent = fxu_strdup(sd);
            for (char *s = parent + 1; *s; s++)
                if (*s == '/') {
                    *s = '\0';
                    (void)mkdir(parent, 0700);
                    *s = '/';
                }
            (void)mkdir(sd, 0700);
            free(parent);
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            tool_die(FLEXIAI_ECANTCREAT, "%s: %s", dir, strerror(errno));
    }
    return dir;
}

char *
djob_new_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
    return fxu_asprintf("fx%s-%ld-%03ld", when, (long)getpid(),
                        ts.tv_nsec / 1000000);
}

char *
djob_side(const struct djob *j, const char *suffix)
{
    size_t n = strlen(j->path);
    if (n > 5 && strcmp(j->path + n - 5, ".json") == 0)
        n -= 5;
    return fxu_asprintf("%.*s%s", (int)n, j->path, suffix);
}

void
djob_add_id(struct djob *j, const char *id)
{
    if (j->nids == j->capids) {
        j->capids = j->capids ? j->capids * 2 : 1024;
        j->ids = fxu_xrealloc(j->ids, j->capids * sizeof(*j->ids));
    }
    j->ids[j->nids++] = fxu_strdup(id);
}

long
djob_index(const struct djob *j, const char *custom_id)
{
    if (custom_id == NULL || custom_id[0] != 'i')
        return -1;
    long n;
    if (fxu_parse_long(custom_id + 1, &n) != 0 || n < 0 || (size_t)n >= j->nids)
        return -1;
    return n;
}

/* The file's text, written by hand: a job of 100 000 ids is a few MB and
 * a cJSON tree of it ten times that. */
static void
put_str(FILE *fp, const char *s)
{
    cJSON *v = cJSON_CreateString(s ? s : "");
    char *t = cJSON_PrintUnformatted(v);
    fputs(t, fp);
    free(t);
    cJSON_Delete(v);
}

void
djob_save(const struct djob *j)
{
    char *tmp = fxu_asprintf("%s.tmp", j->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", tmp, strerror(errno));
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "{\"version\":1,\"job\":");
    put_str(fp, j->id);
    fprintf(fp, ",\"created\":%.3f,\"output\":", j->created);
    if (j->output)
        put_str(fp, j->output);
    else
        fputs("null", fp);
    fputs(",\"input_digest\":", fp);
    put_str(fp, j->digest);
    fputs(",\"inputs\":[", fp);
    for (size_t i = 0; i < j->ninputs; i++) {
        if (i)
            fputc(',', fp);
        put_str(fp, j->inputs[i]);
    }
    fputs("],\n\"parts\":[", fp);
    for (size_t i = 0; i < j->nparts; i++) {
        const struct djob_part *p = &j->parts[i];
        fputs(i ? ",\n{\"provider\":" : "\n{\"provider\":", fp);
        put_str(fp, p->provider);
        fputs(",\"batch\":", fp);
        if (p->batch)
            put_str(fp, p->batch);
        else
            fputs("null", fp);
        fprintf(fp, ",\"first\":%ld,\"count\":%ld,\"state\":", p->first,
                p->count);
        put_str(fp, p->state);
        fputc('}', fp);
    }
    fputs("],\n\"ids\":[", fp);
    for (size_t i = 0; i < j->nids; i++) {
        if (i)
            fputs(i % 64 ? "," : ",\n", fp);
        fputs(j->ids[i], fp); /* JSON text already */
    }
    fputs("]}\n", fp);
    int bad = fflush(fp) != 0 || fsync(fd) != 0;
    if (fclose(fp) != 0)
        bad = 1;
    if (bad || rename(tmp, j->path) != 0)
        tool_die(FLEXIAI_EIO, "%s: %s", j->path, strerror(errno));
    free(tmp);
}

void
djob_free(struct djob *j)
{
    free(j->id);
    free(j->path);
    free(j->output);
    free(j->digest);
    for (size_t i = 0; i < j->ninputs; i++)
        free(j->inputs[i]);
    free(j->inputs);
    for (size_t i = 0; i < j->nparts; i++) {
        free(j->parts[i].provider);
        free(j->parts[i].batch);
        free(j->parts[i].state);
    }
    free(j->parts);
    for (size_t i = 0; i < j->nids; i++)
        free(j->ids[i]);
    free(j->ids);
    memset(j, 0, sizeof(*j));
}

static const char *
jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A job id names a file: no '/', no leading dot. */
static int
id_ok(const char *id)
{
    return id && *id && *id != '.' && strchr(id, '/') == NULL &&
           strlen(id) < 200;
}

static void
malformed(const char *path, const char *why)
{
    tool_die(FLEXIAI_EDATA, "%s: not a deferred job file (%s)", path, why);
}

void
djob_load(const flexiai_config *cfg, const char *id, struct djob *j)
{
    memset(j, 0, sizeof(*j));
    if (!id_ok(id))
        tool_die(FLEXIAI_EUSAGE,
                 "'%s' is no job id (see 'flexiai batch "
                 "status')",
                 id ? id : "");
    char *dir = djob_dir(cfg, 0);
    j->path = fxu_asprintf("%s/%s.json", dir, id);
    free(dir);
    FILE *fp = fopen(j->path, "r");
    if (fp == NULL) {
        if (errno == ENOENT)
            tool_die(FLEXIAI_ENOINPUT,
                     "no deferred job '%s' (see 'flexiai "
                     "batch status')",
                     id);
        tool_die(FLEXIAI_EIO, "%s: %s", j->path, strerror(errno));
    }
    fxu_buf b;
    fxu_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        fxu_buf_append(&b, chunk, n);
    if (ferror(fp))
        tool_die(FLEXIAI_EIO, "%s: %s", j->path, strerror(errno));
    fclose(fp);
    cJSON *root = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
    fxu_buf_free(&b);
    if (!cJSON_IsObject(root))
        malformed(j->path, "not JSON");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1)
        malformed(j->path, "no version 1");
    if (jstr(root, "job") == NULL || strcmp(jstr(root, "job"), id) != 0)
        malformed(j->path, "another job's id");
    j->id = fxu_strdup(id);
    v = cJSON_GetObjectItemCaseSensitive(root, "created");
    j->created = cJSON_IsNumber(v) ? v->valuedouble : 0;
    j->output = jstr(root, "output") ? fxu_strdup(jstr(root, "output")) : NULL;
    j->digest = fxu_strdup(jstr(root, "input_digest"));
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    const cJSON *e;
    if (cJSON_IsArray(arr)) {
        j->inputs = fxu_xcalloc((size_t)cJSON_GetArraySize(arr) + 1,
                                sizeof(*j->inputs));
        cJSON_ArrayForEach(e, arr) if (cJSON_IsString(e))
            j->inputs[j->ninputs++] = fxu_strdup(e->valuestring);
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "ids");
    if (!cJSON_IsArray(arr))
        malformed(j->path, "no ids");
    cJSON_ArrayForEach(e, arr)
    {
        char *t = cJSON_PrintUnformatted(e);
        djob_add_id(j, t);
        free(t);
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "parts");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        malformed(j->path, "no parts");
    j->parts = fxu_xcalloc((size_t)cJSON_GetArraySize(arr), sizeof(*j->parts));
    cJSON_ArrayForEach(e, arr)
    {
        struct djob_part *p = &j->parts[j->nparts++];
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "first");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "count");
        if (jstr(e, "provider") == NULL || jstr(e, "state") == NULL ||
            !cJSON_IsNumber(f) || !cJSON_IsNumber(c) || f->valuedouble < 0 ||
            c->valuedouble < 0 ||
            f->valuedouble + c->valuedouble > (double)j->nids)
            malformed(j->path, "a part is incomplete");
        p->provider = fxu_strdup(jstr(e, "provider"));
        p->batch = jstr(e, "batch") ? fxu_strdup(jstr(e, "batch")) : NULL;
        p->state = fxu_strdup(jstr(e, "state"));
        p->first = (long)f->valuedouble;
        p->count = (long)c->valuedouble;
    }
    cJSON_Delete(root);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
djob_list(const flexiai_config *cfg, size_t *n)
{
    *n = 0;
    char *dir = djob_dir(cfg, 0);
    DIR *d = opendir(dir);
    free(dir);
    if (d == NULL)
        return NULL;
    char **v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 ||
            strcmp(de->d_name + len - 5, ".json") != 0 ||
            strstr(de->d_name, ".items.") != NULL)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = fxu_xrealloc(v, cap * sizeof(*v));
        }
        v[(*n)++] = fxu_strndup(de->d_name, len - 5);
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(*v), by_name); /* the id starts with its time */
    return v;
}
