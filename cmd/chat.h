/* chat.h - the chat REPL's shared state and slash-command table. */
#ifndef FX_CHAT_H
#define FX_CHAT_H
#endif
