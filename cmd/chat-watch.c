/*
 * chat-watch.c - breaker events for flexiai chat: when [sync] backend =
 * redis, a thread of its own follows flexiai_breaker_watch() and writes
 * one line per opened or closed breaker into a non-blocking pipe that the
 * terminal loop polls, so events show between keystrokes.  The echo of a
 * reset made by this chat's /breaker reset is left out.
 */
#include "config.h"

#include "chat-term.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long after our own reset its "closed" event is taken for its echo:
 * the event comes in milliseconds; a late one is shown, which is honest. */
#define OWN_RESET_WINDOW 5.0

struct chat_watcher {
    pthread_t thread;
    flexiai_config *cfg; /* its own: the main one is re-validated */
    flexiai_client *client;
    int fd[2];
    volatile sig_atomic_t stop;
    /* our last reset, from the main thread: provider and when */
    pthread_mutex_t lock;
    char reset_provider[128];
    double reset_at;
};

void
chat_watch_reset_done(void *ud, const char *provider)
{
    struct chat_watcher *w = ud;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    snprintf(w->reset_provider, sizeof(w->reset_provider), "%s",
             provider ? provider : "");
    w->reset_at = fxu_monotonic();
    pthread_mutex_unlock(&w->lock);
}

/* Is this "closed" event the echo of our own reset?  Each reset mutes one
 * event. */
static int
own_reset_echo(struct chat_watcher *w, const flexiai_event *ev)
{
    int echo = 0;
    pthread_mutex_lock(&w->lock);
    if (w->reset_provider[0] && strcmp(ev->event_type, "closed") == 0 &&
        strcmp(ev->provider, w->reset_provider) == 0 &&
        fxu_monotonic() - w->reset_at < OWN_RESET_WINDOW) {
        echo = 1;
        w->reset_provider[0] = '\0';
    }
    pthread_mutex_unlock(&w->lock);
    return echo;
}

static void
watcher_say(struct chat_watcher *w, const char *line)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s\n", line);
    if (n > (int)sizeof(buf) - 1) {
        n = (int)sizeof(buf) - 1;
        buf[n - 1] = '\n';
    }
    /* non-blocking: when the main loop is busy and the pipe is full, a
     * notice is dropped rather than the watcher stalled */
    ssize_t r = write(w->fd[1], buf, (size_t)n);
    (void)r;
}

static int
watcher_event(void *ud, const flexiai_event *ev)
{
    struct chat_watcher *w = ud;
    if (strcmp(ev->event_type, "opened") != 0 &&
        strcmp(ev->event_type, "closed") != 0)
        return 0;
    if (!flexiai_config_has_provider(w->cfg, ev->provider))
        return 0;
    if (own_reset_echo(w, ev))
        return 0;
    char line[400];
    snprintf(line, sizeof(line), "breaker of %.100s %s%s%.150s%s", ev->provider,
             ev->event_type, ev->worker_id[0] ? " (by " : "", ev->worker_id,
             ev->worker_id[0] ? ")" : "");
    watcher_say(w, line);
    return 0;
}

static void
watcher_log(void *ud, flexiai_log_level level, const char *msg)
{
    if (level == FLEXIAI_LOG_WARN ||
        (level == FLEXIAI_LOG_ATTEMPT && tool_verbose))
        watcher_say(ud, msg);
}

static void *
watcher_main(void *ud)
{
    struct chat_watcher *w = ud;
    flexiai_breaker_watch(w->client, watcher_event, w, &w->stop);
    return NULL;
}

struct chat_watcher *
chat_watch_start(const flexiai_config *cfg, const struct tool_args *args)
{
    if (flexiai_config_backend(cfg) != FLEXIAI_BACKEND_REDIS)
        return NULL;
    struct chat_watcher *w = fxu_xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    int rc;
    w->cfg = tool_setup_config(args, TOOL_SETUP_KEEP_ERRORS | TOOL_SETUP_SILENT,
                               &rc);
    char *err = NULL;
    if (rc != FLEXIAI_OK || pipe(w->fd) != 0 ||
        flexiai_client_new(w->cfg, &w->client, &err) != FLEXIAI_OK) {
        tool_warn("breaker events not shown: %s", err ? err : "cannot start");
        free(err);
        flexiai_config_free(w->cfg);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(w->fd[i], F_SETFD, FD_CLOEXEC);
        fcntl(w->fd[i], F_SETFL, O_NONBLOCK);
    }
    flexiai_client_set_log(w->client, watcher_log, w);
    /* the thread must not take SIGINT/SIGWINCH meant for the main loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->thread, NULL, watcher_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        tool_warn("breaker events not shown: %s", strerror(rc));
        flexiai_client_free(w->client);
        flexiai_config_free(w->cfg);
        close(w->fd[0]);
        close(w->fd[1]);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

int
chat_watch_fd(const struct chat_watcher *w)
{
    return w ? w->fd[0] : -1;
}

void
chat_watch_stop(struct chat_watcher *w)
{
    if (w == NULL)
        return;
    w->stop = 1;
    pthread_join(w->thread, NULL);
    flexiai_client_free(w->client);
    flexiai_config_free(w->cfg);
    close(w->fd[0]);
    close(w->fd[1]);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
