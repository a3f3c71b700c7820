/*
 * batch-out.c - `flexiai batch` output: each line written whole with one
 * write(2) (the file is opened O_APPEND; a short write is cut back off, so
 * a full disk never leaves half a line), in input order through a bounded
 * reorder window or as items finish; the progress line on a terminal and
 * the summary line.
 */
#include "config.h"

#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct slot {
    long seq;
    int done;
    char *line; /* NULL: nothing to write */
    size_t len;
    struct batch_tally t; /* t.provider owned */
};

struct batch_out {
    int fd;
    const char *name;
    int ordered;
    size_t window;
    struct slot *ring;
    long next; /* ordered: the next seq to write */
    int failed;
    struct batch_stats *st;
};

struct batch_out *
batch_out_new(int fd, const char *name, int ordered, size_t window,
              struct batch_stats *st)
{
    struct batch_out *o = fxu_xcalloc(1, sizeof(*o));
    o->st = st;
    o->fd = fd;
    o->name = name;
    o->ordered = ordered;
    o->window = window ? window : 1;
    o->ring = fxu_xcalloc(o->window, sizeof(*o->ring));
    return o;
}

void
batch_out_free(struct batch_out *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->window; i++) {
        free(o->ring[i].line);
        free((char *)o->ring[i].t.provider);
    }
    free(o->ring);
    free(o);
}

int
batch_out_room(const struct batch_out *o, long seq)
{
    return !o->ordered || seq < o->next + (long)o->window;
}

/* One line, one write(2).  A short write (disk full, file size limit) is
 * cut back off so that no half line stays behind. */
static int
write_line(struct batch_out *o, const char *line, size_t len)
{
    if (o->failed)
        return FLEXIAI_EIO;
    ssize_t n;
    do
        n = write(o->fd, line, len);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return 0;
    int err = n < 0 ? errno : ENOSPC;
    if (n > 0) {
        /* the rest, to learn why (disk full, file size limit) */
        ssize_t m = write(o->fd, line + n, len - (size_t)n);
        if (m == (ssize_t)len - n)
            return 0;
        if (m < 0)
            err = errno;
        else
            n += m;
        off_t end = lseek(o->fd, 0, SEEK_CUR);
        if (end >= n && ftruncate(o->fd, end - n) != 0)
            tool_err("%s: cannot remove a partial line: %s", o->name,
                     strerror(errno));
    }
    o->failed = 1;
    if (err == EPIPE)
        _exit(141); /* the reader went away: end quietly, as cat does */
    tool_err("%s: %s", o->name, strerror(err));
    return FLEXIAI_EIO;
}

/* Write a finished slot's line (if any) and count the item: answered
 * (failed, bad) once its line is in the output, unwritten otherwise. */
static int
emit(struct batch_out *o, struct slot *s)
{
    int rc = 0;
    if (s->line) {
        rc = write_line(o, s->line, s->len);
        if (rc == 0)
            batch_stats_add(o->st, &s->t);
        else
            o->st->unwritten++;
    } else if (s->t.code == FLEXIAI_EINTR) {
        batch_stats_add(o->st, &s->t);
    }
    free(s->line);
    s->line = NULL;
    free((char *)s->t.provider);
    s->t.provider = NULL;
    s->done = 0;
    return rc;
}

int
batch_out_put(struct batch_out *o, long seq, char *line, size_t len,
              const struct batch_tally *t)
{
    int rc = 0;
    struct slot one, *s = o->ordered ? &o->ring[(size_t)seq % o->window] : &one;
    s->seq = seq;
    s->done = 1;
    s->line = line;
    s->len = len;
    s->t = *t;
    s->t.provider = t->provider ? fxu_strdup(t->provider) : NULL;
    if (!o->ordered)
        return emit(o, s);
    for (;;) {
        s = &o->ring[(size_t)o->next % o->window];
        if (!s->done || s->seq != o->next)
            break;
        if (emit(o, s) != 0)
            rc = FLEXIAI_EIO;
        o->next++;
    }
    return rc;
}

int
batch_out_flush_all(struct batch_out *o)
{
    int rc = 0;
    for (long seq = o->next; seq < o->next + (long)o->window; seq++) {
        struct slot *s = &o->ring[(size_t)seq % o->window];
        if (s->done && s->seq == seq && emit(o, s) != 0)
            rc = FLEXIAI_EIO;
    }
    return rc;
}

/* ---- counts, progress, summary ----------------------------------------- */

void
batch_stats_init(struct batch_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->total = -1;
    st->started = fxu_monotonic();
}

void
batch_stats_free(struct batch_stats *st)
{
    for (size_t i = 0; i < st->nprov; i++)
        free(st->prov_names[i]);
    free(st->prov_names);
    free(st->prov_counts);
}

void
batch_tally_of(struct batch_tally *t, const flexiai_result *r, int code)
{
    memset(t, 0, sizeof(*t));
    t->code = code;
    t->provider = r->provider;
    t->cls = BATCH_CLASSES; /* none recorded */
    for (size_t i = r->nattempts; i-- > 0;)
        if (r->attempts[i].errclass != FLEXIAI_E_NONE) {
            t->cls = (int)r->attempts[i].errclass;
            break;
        }
    if (t->cls < 0 || t->cls > BATCH_CLASSES)
        t->cls = BATCH_CLASSES;
}

void
batch_stats_add(struct batch_stats *st, const struct batch_tally *t)
{
    int code = t->code;
    if (t->bad) {
        st->bad++;
        return;
    }
    if (code == FLEXIAI_OK) {
        st->answered++;
        const char *p = t->provider ? t->provider : "?";
        size_t i;
        for (i = 0; i < st->nprov; i++)
            if (strcmp(st->prov_names[i], p) == 0)
                break;
        if (i == st->nprov) {
            st->prov_names =
                fxu_xrealloc(st->prov_names, (i + 1) * sizeof(char *));
            st->prov_counts =
                fxu_xrealloc(st->prov_counts, (i + 1) * sizeof(long));
            st->prov_names[i] = fxu_strdup(p);
            st->prov_counts[i] = 0;
            st->nprov++;
        }
        st->prov_counts[i]++;
        return;
    }
    if (code == FLEXIAI_EINTR) {
        st->interrupted++;
        return;
    }
    st->failed++;
    st->by_class[t->cls]++;
    /* the failed items taken together: one code when they agree; else 75
     * when one of them may pass when run again (a cron job retries), 69
     * when none may */
    if (st->worst == 0)
        st->worst = code;
    else if (st->worst != code)
        st->worst = st->worst == FLEXIAI_ETEMPFAIL || code == FLEXIAI_ETEMPFAIL
                        ? FLEXIAI_ETEMPFAIL
                        : FLEXIAI_EUNAVAILABLE;
}

/* 1234567 -> "1 234 567" */
static const char *
grouped(long v, char *buf, size_t size)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%ld", v < 0 ? -v : v);
    size_t k = 0;
    if (v < 0 && k + 1 < size)
        buf[k++] = '-';
    for (int i = 0; i < n && k + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ' ';
        buf[k++] = tmp[i];
    }
    buf[k] = '\0';
    return buf;
}

static double last_drawn;
static int drawn;

void
batch_progress(struct batch_stats *st, int force)
{
    double now = fxu_monotonic();
    if (!force && now - last_drawn < 0.1)
        return;
    last_drawn = now;
    long done = st->answered + st->failed + st->bad + st->skipped;
    double el = now - st->started;
    double rate = el > 0 ? (st->answered + st->failed + st->bad) / el : 0;
    char a[32], b[32];
    fxu_buf line;
    fxu_buf_init(&line);
    if (st->total >= 0)
        fxu_buf_printf(&line, "%s/%s", grouped(done, a, sizeof(a)),
                       grouped(st->total, b, sizeof(b)));
    else
        fxu_buf_printf(&line, "%s", grouped(done, a, sizeof(a)));
    fxu_buf_printf(&line, " done, %.0f/s, %ld failed", rate, st->failed);
    for (size_t i = 0; i < st->nprov; i++)
        fxu_buf_printf(&line, "%s %s %ld", i ? "," : " |", st->prov_names[i],
                       st->prov_counts[i]);
    if (st->waiting[0])
        fxu_buf_printf(&line, " | waiting: %s", st->waiting);
    if (st->total >= 0 && rate > 0 && done <= st->total) {
        char eta[32];
        fxu_fmt_duration((double)(st->total - done) / rate, eta, sizeof(eta));
        fxu_buf_printf(&line, " | ETA %s", eta);
    }
    fprintf(stderr, "\r%s\033[K", line.data);
    fflush(stderr);
    drawn = 1;
    fxu_buf_free(&line);
}

void
batch_progress_clear(void)
{
    if (drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        drawn = 0;
    }
}

void
batch_summary(const struct batch_stats *st)
{
    char a[32], b[32], c[32];
    fxu_buf s;
    fxu_buf_init(&s);
    fxu_buf_printf(&s, "%s answered, %s failed", grouped(st->answered, a, 32),
                   grouped(st->failed, b, 32));
    if (st->failed) {
        const char *sep = " (";
        for (int i = 0; i <= BATCH_CLASSES; i++) {
            if (st->by_class[i] == 0)
                continue;
            const char *name = i == BATCH_CLASSES
                                   ? "unknown"
                                   : flexiai_errclass_name((flexiai_errclass)i);
            if (st->by_class[i] == st->failed)
                fxu_buf_printf(&s, "%s%s", sep, name);
            else
                fxu_buf_printf(&s, "%s%ld %s", sep, st->by_class[i], name);
            sep = ", ";
        }
        fxu_buf_puts(&s, ")");
    }
    if (st->bad)
        fxu_buf_printf(&s, ", %s bad line%s", grouped(st->bad, c, 32),
                       st->bad == 1 ? "" : "s");
    if (st->interrupted)
        fxu_buf_printf(&s, ", %ld interrupted", st->interrupted);
    if (st->unwritten)
        fxu_buf_printf(&s, ", %s not written", grouped(st->unwritten, c, 32));
    fxu_buf_printf(&s, ", %s skipped in %.1f s", grouped(st->skipped, c, 32),
                   fxu_monotonic() - st->started);
    tool_err("%s", s.data);
    fxu_buf_free(&s);
}
