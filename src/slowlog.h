/* slowlog.h: the slow log, Redis's list of the latest commands that ran for
 * at least `slowlog-log-slower-than` microseconds, and the SLOWLOG command.
 *
 * One log for the whole server, shared by every reactor thread under one
 * mutex (a leaf lock, docs/threads.md). commands.c calls slowlog_push only
 * for a command already known to be slow, so the hot path never touches the
 * lock; building the entry (the copy of argv) happens before taking it. */
#ifndef STRATA_SLOWLOG_H
#define STRATA_SLOWLOG_H

#include <stdint.h>
#include "client.h"

struct command;

void slowlog_setup(void);
void slowlog_teardown(void);

/* Record c's current command (c->argv, as the client sent it, with the
 * arguments the handler redacted) that ran for duration_us. Called on the
 * client's thread right after the handler; the caller has checked the
 * threshold and the command's skip_slowlog flag. */
void slowlog_push(client *c, int64_t duration_us);

/* Config hook (slowlog-max-len, slowlog-log-slower-than): trims the log at
 * once to the new length, as Redis's next command would. */
void slowlog_config_changed(void);


#endif
