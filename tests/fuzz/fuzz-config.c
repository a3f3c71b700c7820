/*
 * fuzz-config.c - libFuzzer target for the configuration reader: any bytes
 * as a config file, then validation and `config show`'s entries.  No
 * crash, and every diagnostic is one line.  api_key_cmd is never run
 * (validate without resolving secrets).
 *
 *   ./configure CC=clang --enable-fuzzers && make tests/fuzz/fuzz-config
 *   ./tests/fuzz/fuzz-config tests/fuzz/corpus/config
 */
#include "config.h"

#include "fx.h"
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/tmp/fx-fuzz-config.%ld.ini",
                 (long)getpid());
        /* nothing from the environment or the machine's files */
        setenv("HOME", "/nonexistent", 1);
        unsetenv("XDG_CONFIG_HOME");
        unsetenv("FLEXIAI_CONFIG");
    }
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);

    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/sys.ini", path);
    flexiai_config_validate(cfg, 0);
    for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
        if (strchr(flexiai_config_diag(cfg, i)->text, '\n'))
            abort(); /* a diagnostic must be one line */
    const flexiai_config_entry *e;
    size_t n = flexiai_config_entries(cfg, &e);
    for (size_t i = 0; i < n; i++)
        if (e[i].is_secret && e[i].value[0] &&
            strstr(e[i].value, "****") == NULL &&
            (strcmp(e[i].key, "redis_url") != 0 || strchr(e[i].value, '@')))
            abort(); /* a secret shown unmasked */
    flexiai_config_free(cfg);
    return 0;
}
