/* acl.h: users and their permissions (Redis 7.0 ACLs), authentication,
 * the ACL LOG, and the protected-mode decision.
 *
 * Data model (docs/acl.md): a user is a stable identity (acl_user: name,
 * deleted flag, pointer to its current rules) and its rules are an
 * immutable, reference-counted snapshot (acl_perm). ACL SETUSER builds a
 * new snapshot and swaps it in under acl_lock; nothing ever changes a
 * published snapshot, so a reactor thread checks commands against the
 * snapshot its client holds without any lock.
 *
 * Every change to any user (SETUSER, DELUSER, requirepass) bumps the global
 * acl_epoch. A client remembers in acl_pass_epoch the epoch at which it was
 * found authenticated with an unrestricted user (all commands, all keys,
 * all channels); command_resolve compares the two, so such a client pays one
 * well-predicted compare per command. Any other client (restricted user,
 * not authenticated, or a change happened) takes acl_gate(), which refreshes
 * the snapshot and runs the full check.
 *
 * Threads: acl_lock guards the user table and each user's perm/deleted
 * fields; the ACL log has its own leaf lock. Lock order: acl_lock before
 * reg_lock (networking.c). See docs/threads.md. */
#ifndef STRATA_ACL_H
#define STRATA_ACL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client.h"

struct command;
struct sockaddr;

/* Check results, ordered as Redis orders them when several selectors deny
 * a command for different reasons (the highest is reported). */
enum acl_result {
    ACL_OK = 0,
    ACL_DENIED_CMD,
    ACL_DENIED_KEY,
    ACL_DENIED_AUTH,      /* only in the ACL LOG */
    ACL_DENIED_CHANNEL,
};

/* Where a denied command ran, for ACL LOG's "context" field. */
enum acl_log_ctx { ACL_LOG_CTX_TOPLEVEL, ACL_LOG_CTX_MULTI, ACL_LOG_CTX_LUA, ACL_LOG_CTX_MODULE };

extern _Atomic uint64_t acl_epoch;

static inline uint64_t acl_epoch_now(void) {
    return atomic_load_explicit(&acl_epoch, memory_order_acquire);
}

/* Creates the default user (from cfg.requirepass) and indexes the command
 * table's categories. Call after commands_setup(). */
void acl_setup(void);
void acl_teardown(void);

/* A new connection: the default user, authenticated if it has nopass and
 * is on (Redis's rule). Releases with acl_client_free. */
void acl_client_init(client *c);
void acl_client_free(client *c);

/* RESET: back to the default user. */
void acl_client_reset(client *c);

/* The gate command_resolve runs when c->acl_pass_epoch != acl_epoch_now():
 * refreshes the client's snapshot, enforces NOAUTH and the user's
 * permissions, logs and replies a denial (returning false). A client whose
 * user was deleted is flagged CLIENT_CLOSE_ASAP and gets no reply. */
bool acl_gate(client *c, const struct command *cmd);

/* The check alone, for every path that runs a command (command_resolve
 * through acl_gate, and EXEC for each queued command): refreshes c's
 * snapshot and returns ACL_OK or the reason cmd with argv[0..argc) is
 * denied; *errpos gets the argv index of the denied key or channel. It does
 * not log or reply: on denial call acl_log_denial() and reply (the usual
 * texts via acl_reply_denied(); EXEC words its own). */
int acl_check_command(client *c, const struct command *cmd, int argc, resp_arg *argv, int *errpos);
/* -NOPERM this user has no permissions to run the '<cmd>' command, or to
 * access one of the keys / channels used as arguments. */
void acl_reply_denied(client *c, const struct command *cmd, int reason);
/* The same text into buf, for callers that word the reply themselves. */
void acl_denied_text(const struct command *cmd, int reason, char *buf, size_t len);
/* One ACL LOG entry: object is cmd's full name (ACL_DENIED_CMD), or the
 * argument argv[errpos] (key, channel). */
void acl_log_denial(client *c, int reason, int ctx, const struct command *cmd,
                    const resp_arg *argv, int errpos);

/* Channel permission for the pub/sub commands: true if c's user may use
 * channel ch (is_pattern: ch is a PSUBSCRIBE pattern, which must equal an
 * allowed pattern literally). acl_check_command already checks PUBLISH,
 * SPUBLISH, SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE by name before their
 * handler runs (so that DRYRUN and selectors work as in Redis); a handler
 * that takes channels another way must call this before acting. */
bool acl_check_channel(client *c, const char *ch, size_t len, bool is_pattern);

/* AUTH / HELLO AUTH: on success the client is authenticated as that user.
 * On failure an "auth" ACL LOG entry is written (object = argv[0] as typed)
 * and false returned; the caller replies WRONGPASS. */
bool acl_authenticate(client *c, const char *user, size_t ulen, const char *pass, size_t plen);
/* True when the default user has nopass (AUTH <password> is then an error). */
bool acl_default_nopass(void);
/* Redis's authRequired(): c must AUTH before running commands. */
bool acl_auth_required(const client *c);
/* The user name for CLIENT LIST (caller holds reg_lock or owns c). */
const char *acl_client_username(const client *c);
/* CLIENT KILL USER: does the user exist? */
bool acl_user_exists(const char *name, size_t len);

/* requirepass: "" makes the default user nopass, otherwise its only
 * password. Called at setup and by CONFIG SET. */
void acl_set_requirepass(const char *pass);

/* Protected mode (Redis 7.0): refuse a TCP connection from a non-loopback
 * peer while protected-mode is on and the default user has no password.
 * Pure function of its arguments (unit-tested); acl_protected_mode_denies
 * reads the live configuration. */
bool acl_protected_decision(bool protected_mode, bool default_nopass, const struct sockaddr *peer);
bool acl_protected_mode_denies(const struct sockaddr *peer);
extern const char ACL_DENIED_PROTECTED_MSG[];

#endif
