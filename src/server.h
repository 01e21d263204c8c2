/* server.h: process-wide state and lifecycle: start-up order of modules,
 * the cron (active expiry, clocks, timeouts), signals, shutdown, and the
 * counters INFO reports. */
#ifndef STRATA_SERVER_H
#define STRATA_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STRATA_VERSION "0.1.0"
/* What we report as redis_version: clients gate features on it. */
#define STRATA_REDIS_COMPAT_VERSION "7.0.15"

typedef struct server_stats {
    _Atomic uint64_t total_connections, rejected_connections, total_commands;
    _Atomic uint64_t net_input_bytes, net_output_bytes;
    _Atomic uint64_t unexpected_errors, total_error_replies;
    _Atomic uint64_t client_qbuf_limit_disconnections, client_obuf_limit_disconnections;
} server_stats;

typedef struct server_state {
    int64_t start_ms;
    char runid[41];
    int pid;
    const char *executable;
    _Atomic int shutdown_asap;      /* set by signals and SHUTDOWN */
    _Atomic int shutdown_exit_code;
    server_stats stats;
    _Atomic uint64_t ops_per_sec;   /* sampled by the clock cron */
    _Atomic uint64_t peak_memory;
    size_t startup_memory;          /* allocated once set up (MEMORY STATS) */
    int64_t stat_reset_ms;
} server_state;

extern server_state srv;

/* Ask the main loop to stop cleanly (from any thread). */
void server_request_shutdown(int exit_code);

#endif
