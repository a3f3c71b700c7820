/* flexiai-chat - interactive REPL (placeholder until the chat lands). */
#include "config.h"

#include "common.h"

#include <readline/readline.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    fx_cmd_init("flexiai chat");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: flexiai chat [OPTIONS]\n");
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            char extra[64];
            snprintf(extra, sizeof(extra), "readline/%s", rl_library_version);
            fx_print_version(extra);
            return 0;
        }
    }
    fx_die(FLEXIAI_EUNAVAILABLE, "chat is not implemented yet");
}
