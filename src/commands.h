/* commands.h: the one command table (generated into commands.def from the
 * Redis 7.0 reference; see tools/gen_commands.py) and the dispatcher.
 *
 * Arity checks, COMMAND INFO/DOCS/COUNT/LIST/GETKEYS and (later) cluster
 * slot checks and replication read this table; nothing keeps a second list.
 * Container commands (CONFIG, CLIENT, OBJECT, COMMAND) hold their
 * subcommands; "config|get" is the full name of a subcommand.
 */
#ifndef STRATA_COMMANDS_H
#define STRATA_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client.h"

enum {
    CMD_WRITE = 1 << 0, CMD_READONLY = 1 << 1, CMD_DENYOOM = 1 << 2,
    CMD_ADMIN = 1 << 3, CMD_PUBSUB = 1 << 4, CMD_NOSCRIPT = 1 << 5,
    CMD_BLOCKING = 1 << 6, CMD_LOADING = 1 << 7, CMD_STALE = 1 << 8,
    CMD_SKIP_MONITOR = 1 << 9, CMD_SKIP_SLOWLOG = 1 << 10, CMD_ASKING = 1 << 11,
    CMD_FAST = 1 << 12, CMD_NO_AUTH = 1 << 13, CMD_MAY_REPLICATE = 1 << 14,
    CMD_NO_MANDATORY_KEYS = 1 << 15, CMD_NO_MULTI = 1 << 16,
    CMD_MOVABLE_KEYS = 1 << 17, CMD_ALLOW_BUSY = 1 << 18,
    /* Not a COMMAND INFO flag: Redis 7.0 keeps it internal. DEBUG runs only
     * where enable-debug-command allows the connection. */
    CMD_PROTECTED = 1 << 19,
};

typedef void command_proc(client *c);

typedef struct command {
    const char *name;          /* lower case; "config|get" for subcommands */
    const char *parent_name;   /* "" for top level */
    int arity;                 /* >0 exact argc, <0 at least -arity */
    uint32_t flags;
    int first_key, last_key, key_step;
    const char *acl_categories;     /* "@read @string @fast" */
    command_proc *proc;             /* NULL for a pure container */
    const char *tips; size_t tips_len;           /* RESP3 blob */
    const char *key_specs; size_t key_specs_len; /* RESP3 blob */
    const char *docs; size_t docs_len;           /* RESP3 blob */
    /* filled at setup */
    const struct command *parent;
    const struct command **subs;
    int nsubs;
    int index;                      /* position in the table, for per-thread stats */
    struct key_spec *specs;         /* key specs parsed from the blob */
    int nspecs;
} command;

/* Key specs (Redis 7.0 COMMAND INFO key specifications), parsed from the
 * table's blob at setup so that permission checks know, per key, whether it
 * is read, written, inserted or deleted. */
enum {
    KEY_RO = 1 << 0, KEY_RW = 1 << 1, KEY_OW = 1 << 2, KEY_RM = 1 << 3,
    KEY_ACCESS = 1 << 4, KEY_UPDATE = 1 << 5, KEY_INSERT = 1 << 6, KEY_DELETE = 1 << 7,
    KEY_NOT_KEY = 1 << 8, KEY_INCOMPLETE = 1 << 9, KEY_VARIABLE_FLAGS = 1 << 10,
};
typedef struct key_spec {
    unsigned flags;
    int bs_index;                   /* begin_search index (0: keyword) */
    char *bs_keyword; int bs_startfrom;
    bool fk_keynum;                 /* find_keys: keynum, else range */
    int fk_lastkey, fk_step, fk_limit;          /* range */
    int fk_keynumidx, fk_firstkey;              /* keynum (step in fk_step) */
} key_spec;
typedef struct key_ref {
    int pos;                        /* argv index */
    unsigned flags;                 /* KEY_* of its spec */
} key_ref;

/* INFO commandstats: counted per thread (no shared cache line per command
 * on the hot path) and summed on read. */
typedef struct command_stats {
    uint64_t calls, usec, rejected_calls, failed_calls;
} command_stats;
void command_stats_get(const command *cmd, command_stats *out);
void command_stats_reset(void);

void commands_setup(void);
void commands_teardown(void);

/* Look up a top-level command by name (case-insensitive). */
const command *command_lookup(const char *name, size_t len);
/* Resolve argv to the command to run: a subcommand for containers. Sends
 * the unknown-command / unknown-subcommand / arity error itself and
 * returns NULL when the command cannot run. */
const command *command_resolve(client *c);

/* Refuse a resolved command with msg (Redis's rejectCommand): counts a
 * rejected call; an EXEC refused this way answers "EXECABORT Transaction
 * discarded because of: ..." and ends the transaction. */
void command_reject(client *c, const command *cmd, const char *msg);

/* Run the command in c->argv (called by networking.c per parsed command):
 * resolve it, queue it inside MULTI, else command_exec. */
void command_call(client *c);
/* Run an already resolved command and account for it (commandstats);
 * EXEC calls it for each queued command. */
void command_exec(client *c, const command *cmd);

/* The command command_call would run for c->argv, or NULL when it would
 * reject it (unknown, arity, protected, NOAUTH): no reply, no counters.
 * CLIENT PAUSE uses it to decide whether to hold a command. */
const command *command_peek(client *c);

/* Iterate over every top-level command (for COMMAND, COMMAND LIST...). */
int command_count(void);
const command *command_at(int i);

/* Key positions per the legacy first/last/step fields (COMMAND GETKEYS and
 * later the cluster slot check). Fills idx (capacity max), returns count or
 * -1 if argv is malformed for the command. */
int command_get_keys(const command *cmd, int argc, int *idx, int max);

/* Keys per the key specs, with their flags, as Redis's
 * getKeysFromCommandWithSpecs finds them (SET's flags depend on GET).
 * Returns the count (at most max), 0 when argv does not fit the specs. */
int command_keys_with_flags(const command *cmd, int argc, const resp_arg *argv, key_ref *out, int max);
/* Every row of the table, subcommands included (index = command.index). */
int command_table_size(void);
const command *command_by_index(int i);
/* "get", "config|get" (case-insensitive); NULL if not served. */
const command *command_lookup_fullname(const char *name, size_t len);

/* Full name for errors: "get", "config|get". */
const char *command_fullname(const command *cmd);

/* DEBUG OBJECT's reply, built in cmd_keys.c next to OBJECT (refcount and
 * encoding rules live there). */
void keys_debug_object(client *c);

/* Handlers, one per table row (defined in the cmd_*.c files). */
#define CMD(name, parent, arity, flags, f, l, s, acl, proc, tips, ks, docs) \
    command_proc proc;
/* Containers without a handler of their own are named NULLPROC in the table;
 * declaring that name is harmless and commands.c maps it to NULL. */
#include "commands.def"
#undef CMD

#endif
