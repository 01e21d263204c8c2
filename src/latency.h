/* latency.h: the latency monitor (Redis's LATENCY command family).
 *
 * Named events ("command", "fast-command", "expire-cycle") collect one
 * sample per second, the worst latency in ms seen in that second, in a ring
 * of LATENCY_TS_LEN samples, plus the all-time maximum. Only latencies of
 * at least latency-monitor-threshold ms are recorded; 0 turns it off.
 * Callers check the threshold before calling (commands.c does it for
 * commands behind the same branch as the slow log). Any thread may add a
 * sample: one mutex, a leaf lock, guards every series. */
#ifndef STRATA_LATENCY_H
#define STRATA_LATENCY_H

#include <stdint.h>

#define LATENCY_TS_LEN 160

void latency_setup(void);
void latency_teardown(void);

/* Record `ms` for `event` (a string constant) now. */
void latency_add_sample(const char *event, int64_t ms);

/* Add the sample only if the monitor is on and ms reaches its threshold. */
void latency_add_sample_if_needed(const char *event, int64_t ms);

#endif
