/* server.c: process lifecycle. Starts modules in dependency order (config,
 * log, keyspace, storage, commands, pubsub, durability, networking) and stops them in reverse; owns the
 * main thread's event loop (listeners, signals, the clock cron), daemonize,
 * the pidfile, and graceful shutdown on SIGTERM/SIGINT/SHUTDOWN. */
#include "server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "acl.h"
#include "commands.h"
#include "config.h"
#include "durability.h"
#include "keyspace.h"
#include "latency.h"
#include "log.h"
#include "memory.h"
#include "multi.h"
#include "networking.h"
#include "pubsub.h"
#include "slowlog.h"
#include "storage.h"
#include "util.h"

server_state srv;

static struct event_base *main_base;
static struct event *shutdown_ev, *clock_ev, *sigterm_ev, *sigint_ev;

void server_request_shutdown(int exit_code) {
    atomic_store(&srv.shutdown_exit_code, exit_code);
    atomic_store(&srv.shutdown_asap, 1);
    if (shutdown_ev) event_active(shutdown_ev, EV_READ, 0);
}

static void on_shutdown(evutil_socket_t fd, short what, void *arg) {
    log_warning("User requested shutdown...");
    event_base_loopbreak(main_base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    log_warning("Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_request_shutdown(0);
}

/* Every 100 ms: the LRU clock, the ops/sec sample (average over the last
 * 16 samples, as Redis's instantaneous_ops_per_sec), used_memory where it
 * is cached (memory.h) and its peak. */
static void on_clock(evutil_socket_t fd, short what, void *arg) {
    static uint64_t samples[16], last_cmds;
    static int64_t last_us;
    static int idx;
    int64_t now_us = util_mono_us();
    ks_clock_update(util_ms());
    uint64_t cmds = net_total_commands();
    if (last_us && now_us > last_us) {
        samples[idx++ % 16] = (cmds - last_cmds) * 1000000 / (uint64_t)(now_us - last_us);
        uint64_t sum = 0;
        for (int i = 0; i < 16; i++) sum += samples[i];
        atomic_store(&srv.ops_per_sec, sum / 16);
    }
    last_cmds = cmds;
    last_us = now_us;
    size_t used = mem_refresh();   /* the libc build's cached figure, too */
    if (used > atomic_load(&srv.peak_memory)) atomic_store(&srv.peak_memory, used);
    struct timeval tv = {0, 100000};
    event_add(clock_ev, &tv);
}

static void make_runid(void) {
    unsigned char r[20];
    if (getrandom(r, sizeof(r), 0) != sizeof(r))
        for (size_t i = 0; i < sizeof(r); i++) r[i] = (unsigned char)rand();
    for (size_t i = 0; i < sizeof(r); i++) sprintf(srv.runid + 2 * i, "%02x", r[i]);
}

static void daemonize(void) {
    if (fork() != 0) exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
}

static const char *pidfile_path(void) {
    if (cfg.pidfile && cfg.pidfile[0]) return cfg.pidfile;
    return cfg.daemonize ? "/var/run/strata-server.pid" : NULL;
}

static void write_pidfile(void) {
    const char *p = pidfile_path();
    if (!p) return;
    FILE *f = fopen(p, "w");
    if (!f) {
        log_warning("Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void usage(void) {
    fprintf(stderr,
            "Usage: ./strata-server [/path/to/strata.conf] [options] [-]\n"
            "       ./strata-server - (read config from stdin)\n"
            "       ./strata-server -v or --version\n"
            "       ./strata-server -h or --help\n\n"
            "Examples:\n"
            "       ./strata-server (run the server with default conf)\n"
            "       ./strata-server conf/strata.conf\n"
            "       ./strata-server --port 7777 --io-threads 2\n"
            "       ./strata-server conf/strata.conf --loglevel verbose\n");
}

int server_main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("strata server v=%s redis_compat=%s malloc=%s\n", STRATA_VERSION, STRATA_REDIS_COMPAT_VERSION,
#ifdef USE_JEMALLOC
               "jemalloc"
#else
               "libc"
#endif
        );
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--dump-conf")) {
        config_setup();
        config_dump_defaults(stdout);
        return 0;
    }

    mem_setup();
    srv.start_ms = util_ms();
    srv.executable = argv[0];
    make_runid();
    config_setup();
    const char *conf = NULL;
    int first_opt = 1;
    if (argc >= 2 && strncmp(argv[1], "--", 2) != 0) {
        conf = argv[1];
        first_opt = 2;
    }
    if (!config_load(conf, argc - first_opt, argv + first_opt)) return 1;

    if (cfg.daemonize) daemonize();
    if (cfg.dir && cfg.dir[0] && chdir(cfg.dir) != 0) {
        fprintf(stderr, "Can't chdir to '%s': %s\n", cfg.dir, strerror(errno));
        return 1;
    }
    srv.pid = (int)getpid();
    log_setup(cfg.logfile, cfg.loglevel);
    log_notice("oO0OoO0OoO0Oo strata is starting oO0OoO0OoO0Oo");
    log_notice("strata version=%s, redis_compat=%s, bits=64, pid=%d, just started", STRATA_VERSION,
               STRATA_REDIS_COMPAT_VERSION, srv.pid);
    if (!conf) log_warning("Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/strata.conf", argv[0]);
    else log_notice("Configuration loaded");

    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    main_base = event_base_new();
    if (!main_base) {
        log_warning("Failed creating the event loop");
        return 1;
    }

    ks_setup((unsigned)cfg.keyspace_shards, (int)cfg.databases);
    durability_setup();
    /* The storage engine opens its store before the listeners: a corrupt
     * or unreadable store stops the start. The key directory is rebuilt
     * by the loader (durability_start), under -LOADING. */
    if (!storage_setup()) {
        log_warning("Fatal: the storage engine could not open its data (see above); not starting.");
        return 1;
    }
    slowlog_setup();
    latency_setup();
    commands_setup();
    acl_setup();
    pubsub_setup();
    if (!net_setup(main_base)) {
        log_warning("Failed listening on port %lld (tcp), aborting.", cfg.port);
        return 1;
    }
    write_pidfile();
    srv.startup_memory = mem_refresh();

    shutdown_ev = event_new(main_base, -1, EV_PERSIST, on_shutdown, NULL);
    event_add(shutdown_ev, NULL);
    sigterm_ev = evsignal_new(main_base, SIGTERM, on_signal, NULL);
    sigint_ev = evsignal_new(main_base, SIGINT, on_signal, NULL);
    event_add(sigterm_ev, NULL);
    event_add(sigint_ev, NULL);
    clock_ev = evtimer_new(main_base, on_clock, NULL);
    on_clock(-1, 0, NULL);

    /* Recovery after the listeners are up (clients get -LOADING
     * meanwhile) and after shutdown_ev exists (a failed recovery asks for
     * shutdown). */
    durability_start();
    log_notice("Server initialized: %d io-threads, %u keyspace shards, %lld databases", net_nthreads(),
               ks_nshards(), cfg.databases);
    log_notice("Ready to accept connections tcp");
    if (!atomic_load(&srv.shutdown_asap)) event_base_loop(main_base, EVLOOP_NO_EXIT_ON_EMPTY);

    /* Reverse order of setup. */
    net_teardown();
    durability_teardown();   /* the final flush (storage), the last records written and fsynced */
    multi_teardown();   /* after every client is gone */
    event_free(shutdown_ev);
    event_free(sigterm_ev);
    event_free(sigint_ev);
    event_free(clock_ev);
    event_base_free(main_base);
    acl_teardown();
    pubsub_teardown();
    commands_teardown();
    latency_teardown();
    slowlog_teardown();
    ks_teardown();
    const char *pf = pidfile_path();
    if (pf) {
        log_notice("Removing the pid file.");
        unlink(pf);
    }
    log_warning("strata is now ready to exit, bye bye...");
    config_teardown();
    libevent_global_shutdown();
    return atomic_load(&srv.shutdown_exit_code);
}
