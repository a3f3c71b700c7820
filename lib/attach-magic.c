/*
 * attach-magic.c - an attachment's type from its bytes, by libmagic,
 * which is loaded (dlopen) the first time a file is typed rather than
 * linked: with the libraries it brings (liblzma, libbz2) it would be
 * loaded by every flexiai process, most of which never see a file.
 */
#include "config.h"

#include "attach.h"
#include "fx.h"

#include <dlfcn.h>
#include <magic.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    magic_t (*open)(int);
    int (*load)(magic_t, const char *);
    const char *(*buffer)(magic_t, const void *, size_t);
    const char *(*error)(magic_t);
    void (*close)(magic_t);
    char why[256]; /* why it could not be loaded; "" when it was */
} lm;

static pthread_once_t lm_once = PTHREAD_ONCE_INIT;

static void
lm_start(void)
{
    void *h = dlopen(FX_MAGIC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(lm.why, sizeof(lm.why), "%s", e ? e : FX_MAGIC_SONAME);
        return;
    }
    /* kept open for the process: its functions stay in use */
    lm.open = (magic_t(*)(int))dlsym(h, "magic_open");
    lm.load = (int (*)(magic_t, const char *))dlsym(h, "magic_load");
    lm.buffer = (const char *(*)(magic_t, const void *, size_t))dlsym(
        h, "magic_buffer");
    lm.error = (const char *(*)(magic_t))dlsym(h, "magic_error");
    lm.close = (void (*)(magic_t))dlsym(h, "magic_close");
    if (!lm.open || !lm.load || !lm.buffer || !lm.error || !lm.close)
        snprintf(lm.why, sizeof(lm.why), "%s lacks magic_open..magic_close",
                 FX_MAGIC_SONAME);
}

int
fx_attach_magic(const void *data, size_t len, char *mime, size_t size,
                char **err)
{
    pthread_once(&lm_once, lm_start);
    if (lm.why[0]) {
        fx_set_err(err, "cannot load libmagic: %s", lm.why);
        return -1;
    }
    magic_t m = lm.open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (m == NULL || lm.load(m, NULL) != 0) {
        fx_set_err(err, "cannot load libmagic's database: %s",
                   m && lm.error(m) ? lm.error(m) : "out of memory");
        if (m)
            lm.close(m);
        return -1;
    }
    const char *t = lm.buffer(m, data, len);
    snprintf(mime, size, "%s", t ? t : "application/octet-stream");
    lm.close(m);
    return 0;
}
