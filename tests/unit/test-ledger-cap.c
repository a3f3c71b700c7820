/* test-ledger-cap.c - how much of a request a ledger record keeps: texts
 * cut at FX_LEDGER_TEXT_MAX on a whole UTF-8 character with a mark giving
 * the full length, messages sharing FX_LEDGER_MESSAGES_MAX newest first. */
#include "config.h"

#include "ledger/ledger-int.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static char *
filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
test_capped(void)
{
    char *s = fx_ledger_capped("short", 10);
    is_str(s, "short", "a text under the cap is kept whole");
    free(s);
    ok(fx_ledger_capped(NULL, 10) == NULL, "NULL stays NULL");
    /* "ab" then a 3-byte character across the cut at 3 */
    s = fx_ledger_capped("ab\xe2\x82\xac"
                         "cd",
                         3);
    is_str(s, "ab\n[flexiai: cut to 2 of 7 bytes]",
           "cut before a character the cap would split, length kept");
    free(s);
    s = fx_ledger_capped("abcdef", 4);
    is_str(s, "abcd\n[flexiai: cut to 4 of 6 bytes]", "cut at the cap");
    free(s);
}

static void
test_record(void)
{
    size_t big = FX_LEDGER_TEXT_MAX + 100;
    char *huge = filled(big, 'a');
    flexiai_message msgs[6];
    memset(msgs, 0, sizeof(msgs));
    msgs[0].role = "system";
    msgs[0].content = huge;
    for (int i = 1; i < 6; i++) {
        msgs[i].role = i % 2 ? "user" : "assistant";
        msgs[i].content = huge;
    }
    flexiai_result res;
    flexiai_result_init(&res);
    res.text = huge;
    struct fx_ledger_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.command = "complete";
    struct fx_ledger_record rec;
    fx_ledger_record_from_result(&rec, &res, msgs, 6, &meta);
    ok(strlen(rec.text) < FX_LEDGER_TEXT_MAX + 64 &&
           strstr(rec.text, "of 1048676 bytes]") != NULL,
       "the answer is cut, its length kept");
    ok(strlen(rec.system) < FX_LEDGER_TEXT_MAX + 64, "so is the system");
    is_int((int)rec.nmessages, 5, "every message is kept");
    size_t total = 0;
    for (size_t i = 0; i < rec.nmessages; i++)
        total += strlen(rec.messages[i].content);
    ok(total <= FX_LEDGER_MESSAGES_MAX + 5 * 64,
       "the messages together stay under their cap");
    ok(strlen(rec.messages[4].content) > FX_LEDGER_TEXT_MAX - 1,
       "the newest message has its full share");
    ok(strlen(rec.messages[0].content) < 64,
       "the oldest is left its mark only");
    is_str(rec.messages[4].role, "user", "roles stay with their contents");
    is_str(rec.messages[3].role, "assistant", "roles in order");
    fx_ledger_record_free(&rec);
    free(huge);
}

int
main(void)
{
    test_capped();
    test_record();
    return tap_done();
}
