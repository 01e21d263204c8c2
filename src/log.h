/* log.h: the server log, in Redis's line format
 * "pid:role dd Mon yyyy hh:mm:ss.mmm <level-char> message" so tools that
 * parse Redis logs read ours. Thread-safe; each line is one write(2). */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

enum log_level { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING, LL_NOTHING };

void log_setup(const char *path, int level);  /* path "" = stdout */
void log_reopen(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_msg(LL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LL_VERBOSE, __VA_ARGS__)
#define log_notice(...)  log_msg(LL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LL_WARNING, __VA_ARGS__)

#endif
