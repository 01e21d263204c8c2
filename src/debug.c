/* debug.c: the DEBUG command, the subset tools and test suites use:
 * SLEEP, OBJECT, SET-ACTIVE-EXPIRE and HELP, plus strata's test-only FAULT
 * (fault.h; not in HELP, which lists Redis's lines). Anything else answers Redis's
 * "unknown subcommand or wrong number of arguments" error.
 *
 * DEBUG is a protected command (enable-debug-command, default "no", as in
 * Redis 7.0); commands.c refuses it before this file is reached.
 *
 * DEBUG SLEEP blocks the calling client's reactor thread, the way Redis's
 * blocks its only thread: the clients of that thread wait, clients of the
 * other reactors and the other threads' crons keep running (see
 * docs/introspection.md). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "client.h"
#include "commands.h"
#include "config.h"
#include "fault.h"

static void debug_sleep(client *c) {
    /* strtod as Redis: text that is not a number sleeps 0 s; negative
     * and not-a-number times do not sleep either. */
    double secs = strtod(c->argv[2].ptr, NULL);
    /* Redis converts to long long µs: "inf" and times past that range
     * become a negative sleep, which nanosleep refuses at once. */
    if (!(secs > 0) || !(secs * 1000000 < 9.2e18)) {
        reply_ok(c);
        return;
    }
    long long us = (long long)(secs * 1000000);
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    reply_ok(c);
}

/* DEBUG FAULT FSYNC-FAIL <wal|sst|manifest|manifest-dir> <n>
 * DEBUG FAULT DELAY <flush|compaction|manifest> <ms>
 * DEBUG FAULT RESET
 * strata's own, test-only (fault.h): arm EIO on the next n fsyncs of one
 * kind, or pause at one point of the storage paths. */
static void debug_fault(client *c) {
    bool ok = false;
    if (arg_is(c, 2, "RESET") && c->argc == 3) {
        fault_reset();
        ok = true;
    } else if (arg_is(c, 2, "FSYNC-FAIL") && c->argc == 5) {
        ok = fault_arm_fsync(c->argv[3].ptr, strtol(c->argv[4].ptr, NULL, 10));
    } else if (arg_is(c, 2, "DELAY") && c->argc == 5) {
        ok = fault_set_delay(c->argv[3].ptr, strtol(c->argv[4].ptr, NULL, 10));
    }
    if (ok) reply_ok(c);
    else reply_error(c, "ERR DEBUG FAULT FSYNC-FAIL <wal|sst|manifest|manifest-dir> <n> | DELAY <flush|compaction|manifest> <ms> | RESET");
}

static void debug_set_active_expire(client *c) {
    /* atoi as Redis: "1", "2", "7x" enable, "0" and "abc" disable. Stored
     * through the config table (active-expire-enabled) so CONFIG GET and
     * REWRITE agree with it. */
    const char *v = atoi(c->argv[2].ptr) ? "yes" : "no";
    const char *name = "active-expire-enabled";
    char err[256];
    if (config_set(1, &name, &v, err, sizeof(err))) reply_ok(c);
    else reply_error(c, err);
}

void cmd_debug(client *c) {
    if (arg_is(c, 1, "HELP") && c->argc == 2) {
        static const char *const lines[] = {
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            NULL};
        reply_help(c, "DEBUG", lines);
    } else if (arg_is(c, 1, "SLEEP") && c->argc == 3) {
        debug_sleep(c);
    } else if (arg_is(c, 1, "OBJECT") && c->argc == 3) {
        keys_debug_object(c);
    } else if (arg_is(c, 1, "FAULT") && c->argc >= 3) {
        debug_fault(c);
    } else if (arg_is(c, 1, "SET-ACTIVE-EXPIRE") && c->argc == 3) {
        debug_set_active_expire(c);
    } else {
        reply_subcommand_syntax_error(c);
    }
}
