/*
 * providers.c - the table of provider types.  Adding a provider is adding
 * its file (one struct fx_provider_ops) and one line to the table below;
 * configuration and the engine read everything else from the ops.  The
 * helpers the provider files share are in provider-common.c.
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct fx_provider_ops *const fx_providers[] = {
    &fx_provider_openai,
    &fx_provider_anthropic,
    &fx_provider_gemini,
    &fx_provider_vertex,
    NULL,
};

const struct fx_provider_ops *
fx_provider_ops_find(const char *type)
{
    if (type == NULL)
        return NULL;
    for (int i = 0; fx_providers[i]; i++)
        if (strcmp(fx_providers[i]->type, type) == 0)
            return fx_providers[i];
    return NULL;
}

const char *
fx_provider_type_list(void)
{
    static char list[256];
    if (list[0] == '\0') {
        for (int i = 0; fx_providers[i]; i++) {
            if (i > 0)
                strncat(list, "|", sizeof(list) - strlen(list) - 1);
            strncat(list, fx_providers[i]->type,
                    sizeof(list) - strlen(list) - 1);
        }
    }
    return list;
}
