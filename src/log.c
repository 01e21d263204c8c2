/* log.c: the server log in Redis's line format, so that log tooling built
 * for Redis reads ours:  "pid:M 25 Nov 2026 10:11:12.345 * message".
 * The role char is M (main) for every thread; level chars are . - * #. */
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 1;
static int log_level = LL_NOTICE;
static char log_path[1024];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_setup(const char *path, int level) {
    log_level = level;
    snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
    log_reopen();
}

void log_reopen(void) {
    pthread_mutex_lock(&log_lock);
    if (log_fd > 2) close(log_fd);
    log_fd = 1;
    if (log_path[0]) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) log_fd = fd;
    }
    pthread_mutex_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...) {
    if (level < log_level) return;
    static const char marks[] = ".-*#";
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%d:M ", (int)getpid());
    n += (int)strftime(line + n, sizeof(line) - (size_t)n, "%d %b %Y %H:%M:%S.", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, "%03d %c ",
                  (int)(tv.tv_usec / 1000), marks[level > LL_WARNING ? LL_WARNING : level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2) n = sizeof(line) - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&log_lock);
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
    pthread_mutex_unlock(&log_lock);
}
