/*
 * test-cache-key.c - the response cache's key (lib/cache.c): the same
 * request gives the same SHA-256 however it was built; every part that
 * changes the answer changes it (model, provider unless across providers,
 * sampling, stop, system, schema, tools, messages, an attachment's bytes);
 * the serialisation is length-prefixed, so text moved between two fields
 * is another key; and an entry survives its JSON round trip.
 */
#include "config.h"

#include "cache.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static flexiai_message msgs[2];
static struct fx_params params;
static struct fx_cache_key_in in;

static void
reset(void)
{
    memset(msgs, 0, sizeof(msgs));
    msgs[0].role = "user";
    msgs[0].content = "What is two and two?";
    memset(&params, 0, sizeof(params));
    params.temperature = 0.7;
    params.top_p = -1;
    params.max_tokens = 1024;
    memset(&in, 0, sizeof(in));
    in.msgs = msgs;
    in.nmsgs = 1;
    in.provider = "oa";
    in.model = "gpt-6-luna";
    in.params = &params;
}

static void
key(char hex[65])
{
    char *err = NULL;
    if (fx_cache_key(&in, hex, &err) != 0) {
        printf("# %s\n", err);
        free(err);
        hex[0] = '\0';
    }
}

/* The key differs from the base request's after `what` changed. */
#define differs(base, what)                                                    \
    do {                                                                       \
        char k_[65];                                                           \
        key(k_);                                                               \
        ok(strcmp(k_, base) != 0, "the key changes with %s", what);            \
        reset();                                                               \
    } while (0)

int
main(void)
{
    char base[65], again[65];
    reset();
    key(base);
    is_int((long)strlen(base), 64L, "the key is 64 hex digits");
    ok(strspn(base, "0123456789abcdef") == 64, "lower-case hex");
    ok(strstr(base, "two") == NULL, "the request is not in the key");

    /* the same request built again from other memory */
    char *copy = strdup("What is two and two?");
    msgs[0].content = copy;
    key(again);
    is_str(again, base, "the same request, the same key");
    free(copy);
    reset();

    in.model = "gpt-6-sol";
    differs(base, "the model");
    in.provider = "ob";
    differs(base, "the provider");
    in.provider = NULL;
    differs(base, "no provider (across_providers)");
    params.temperature = 0.2;
    differs(base, "the temperature");
    params.top_p = 0.5;
    differs(base, "top_p");
    params.top_k = 40;
    differs(base, "top_k");
    params.max_tokens = 10;
    differs(base, "max_tokens");
    params.reasoning = FLEXIAI_REASONING_HIGH;
    differs(base, "reasoning");
    params.system = "be brief";
    differs(base, "the system prompt");
    char *stop[] = {"END", NULL};
    params.stop = stop;
    differs(base, "a stop sequence");
    in.schema_text = "{\"type\":\"object\"}";
    differs(base, "the schema");
    in.want_reasoning = 1;
    differs(base, "asking for the reasoning");
    flexiai_tool tool = {"lookup", "find a thing", "{\"type\":\"object\"}"};
    in.tools = &tool;
    in.ntools = 1;
    differs(base, "a tool offered");
    msgs[0].content = "What is two and three?";
    differs(base, "the prompt");
    msgs[0].role = "system";
    differs(base, "a role");
    msgs[1].role = "assistant";
    msgs[1].content = "";
    in.nmsgs = 2;
    differs(base, "one more message");

    /* attachments: their bytes, not where they came from in memory */
    flexiai_attachment a1 = {.data = "PNGDATA", .len = 7, .mime = "image/png"};
    msgs[0].attachments = &a1;
    msgs[0].nattachments = 1;
    char with[65];
    key(with);
    ok(strcmp(with, base) != 0, "an attachment changes the key");
    flexiai_attachment a2 = {
        .data = strdup("PNGDATA"), .len = 7, .mime = "image/png"};
    msgs[0].attachments = &a2;
    key(again);
    is_str(again, with, "the same bytes elsewhere, the same key");
    ((char *)a2.data)[0] = 'J';
    key(again);
    ok(strcmp(again, with) != 0, "other bytes, another key");
    free((void *)a2.data);
    flexiai_attachment a3 = {.path = "/nonexistent/file.png"};
    msgs[0].attachments = &a3;
    char *err = NULL;
    ok(fx_cache_key(&in, again, &err) == -1 && err != NULL,
       "an attachment that cannot be read: no key");
    free(err);
    reset();

    /* tool calls in the history */
    flexiai_tool_call call = {"call_1", "lookup", "{\"q\":\"x\"}"};
    msgs[1].role = "assistant";
    msgs[1].tool_calls = &call;
    msgs[1].ntool_calls = 1;
    in.nmsgs = 2;
    key(with);
    call.arguments = "{\"q\":\"y\"}";
    key(again);
    ok(strcmp(with, again) != 0, "a tool call's arguments change the key");
    reset();

    /* length-prefixed: "ab" + "c" is not "a" + "bc" */
    msgs[0].content = "ab";
    msgs[1].role = "user";
    msgs[1].content = "c";
    in.nmsgs = 2;
    key(with);
    msgs[0].content = "a";
    msgs[1].content = "bc";
    key(again);
    ok(strcmp(with, again) != 0, "text moved between two messages");
    reset();
    msgs[0].content = NULL;
    key(with);
    msgs[0].content = "";
    key(again);
    ok(strcmp(with, again) != 0, "no content is not empty content");
    reset();

    /* entries */
    struct fx_cache_entry e = {.text = "4",
                               .model = "gpt-6-luna",
                               .provider = "oa",
                               .finish_reason = "stop",
                               .json = NULL,
                               .prompt_tokens = 12,
                               .completion_tokens = 1,
                               .created = 1796000000.5};
    char *s = fx_cache_entry_encode(&e);
    struct fx_cache_entry d;
    ok(fx_cache_entry_decode(s, strlen(s), &d) == 0, "an entry decodes");
    is_str(d.text, "4", "its text");
    is_str(d.provider, "oa", "its provider");
    is_str(d.model, "gpt-6-luna", "its model");
    ok(d.json == NULL, "no json when none was kept");
    is_int(d.prompt_tokens, 12L, "its prompt tokens");
    ok(d.created == 1796000000.5, "its time");
    fx_cache_entry_free(&d);
    free(s);
    ok(fx_cache_entry_decode("[1]", 3, &d) == -1, "not an entry");
    ok(fx_cache_entry_decode("{\"text\":\"x\"}", 12, &d) == -1,
       "an entry without its provider is refused");
    return tap_done();
}
