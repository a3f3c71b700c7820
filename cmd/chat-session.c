/*
 * chat-session.c - what a chat session keeps beside its messages: the
 * conversation id its turns are logged under (one conversation per
 * session, however often it is resumed) and the provider /provider chose.
 * A small JSON file, NAME.state beside NAME.json, written whole.
 */
#include "config.h"

#include "chat-session.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
chat_session_state_path(const char *session_path)
{
    size_t len = strlen(session_path);
    if (len > 5 && strcmp(session_path + len - 5, ".json") == 0)
        len -= 5;
    return fxu_asprintf("%.*s.state", (int)len, session_path);
}

/* A conversation id as the ledger makes them: 1 to 64 of [0-9A-Za-z_-]. */
static int
plain_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-");
    return n > 0 && n <= 64 && s[n] == '\0';
}

void
chat_session_read(const char *path, char **cid, char **provider)
{
    *cid = *provider = NULL;
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "conversation_id");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "provider");
    /* what does not look right is left out: a new id, auto */
    if (cJSON_IsString(c) && plain_id(c->valuestring))
        *cid = fxu_strdup(c->valuestring);
    if (cJSON_IsString(p) && *p->valuestring)
        *provider = fxu_strdup(p->valuestring);
    cJSON_Delete(o);
}

int
chat_session_write(const char *path, const char *cid, const char *provider,
                   char **err)
{
    cJSON *o = cJSON_CreateObject();
    if (cid)
        cJSON_AddStringToObject(o, "conversation_id", cid);
    else
        cJSON_AddNullToObject(o, "conversation_id");
    if (provider)
        cJSON_AddStringToObject(o, "provider", provider);
    else
        cJSON_AddNullToObject(o, "provider");
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    /* beside it, then renamed over it: never half a file */
    char *tmp = fxu_asprintf("%s.XXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    int rc = 0;
    if (fd < 0 || fxu_write_all(fd, text, strlen(text)) != 0 ||
        fxu_write_all(fd, "\n", 1) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        rc = FLEXIAI_ECANTCREAT;
        if (fd >= 0)
            unlink(tmp);
    }
    free(tmp);
    free(text);
    return rc;
}
