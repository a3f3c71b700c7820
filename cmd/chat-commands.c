/* chat-commands.c - slash commands of the chat REPL (placeholder). */
#include "config.h"

#include "chat.h"
