/*
 * chat-session.h - the state a chat session keeps beside its messages
 * (chat-session.c): its conversation id and its /provider choice.
 */
#ifndef FX_CHAT_SESSION_H
#define FX_CHAT_SESSION_H

#include "tool.h"

/* "DIR/NAME.state" for the session file "DIR/NAME.json"; caller frees. */
char *chat_session_state_path(const char *session_path);
/* Read the state file: *cid and *provider malloc'ed, or NULL when the file
 * is missing, unreadable or does not hold them. */
void chat_session_read(const char *path, char **cid, char **provider);
/* Write it atomically (mode 0600); provider NULL: auto.  0, or 73 with
 * *err set (the caller frees it). */
int chat_session_write(const char *path, const char *cid, const char *provider,
                       char **err);

#endif
