/* pubsub.h: Pub/Sub (channels, patterns, shard channels) and MONITOR.
 *
 * pubsub.c owns the registry of who listens to what: channels, patterns,
 * shard channels and MONITOR clients, all under one mutex (the pubsub
 * lock). A PUBLISH or a MONITOR line is delivered while that lock is held,
 * through networking.c's net_deliver, which hands the bytes to the
 * receiver's own reactor thread; so a publisher and its subscribers may
 * live on different threads, and every subscriber sees one channel's
 * messages in publish order. See docs/pubsub.md and docs/threads.md.
 *
 * The command handlers (cmd_subscribe, cmd_publish, cmd_pubsub_*,
 * cmd_monitor...) are declared by commands.h from the table.
 */
#ifndef STRATA_PUBSUB_H
#define STRATA_PUBSUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include "client.h"

struct command;

void pubsub_setup(void);
void pubsub_teardown(void);   /* after every client is freed */
/* Free the calling thread's scratch buffers (a reactor thread, on exit). */
void pubsub_thread_exit(void);

/* MONITOR clients, counted on their own cache line: command_call reads it
 * on every command (one relaxed load and a branch that is almost never
 * taken), and it changes only when a MONITOR starts or ends. */
extern struct pubsub_hot {
    _Atomic int nmonitors;
} __attribute__((aligned(64))) pubsub_hot;

static inline bool pubsub_monitoring(void) {
    return atomic_load_explicit(&pubsub_hot.nmonitors, memory_order_relaxed) != 0;
}
/* Stream the command c just ran to every MONITOR client, unless the
 * command is flagged skip_monitor or admin (Redis 7.0). Any thread. */
void pubsub_feed_monitors(client *c, const struct command *cmd);

/* The gates for subscribed and MONITOR clients, in Redis's order: a
 * MONITOR may not touch the keyspace, and a RESP2 client with
 * subscriptions may only (un)subscribe, PING, QUIT and RESET. Called by
 * command_resolve only when c->flags has CLIENT_PUBSUB or CLIENT_MONITOR;
 * replies the error and returns false when cmd may not run. */
bool pubsub_check_context(client *c, const struct command *cmd);

/* Owner thread of c. client_free: leave everything before c is freed.
 * RESET: leave everything without notifications, stop monitoring.
 * HELLO: c->resp changed; later messages use the new protocol and
 * messages queued before are sent first. */
void pubsub_client_free(client *c);
void pubsub_client_reset(client *c);
void pubsub_client_resp_changed(client *c);

/* ACL SETUSER (acl.c): the ids of the clients subscribed to a channel,
 * pattern or shard channel that allowed() refuses, in a new array (*ids,
 * the caller frees it); returns how many. Any thread; takes the pubsub
 * lock, so allowed() must take no lock. */
typedef bool pubsub_allowed_fn(void *priv, const char *name, size_t len, bool is_pattern);
size_t pubsub_subscribers_denied(pubsub_allowed_fn *allowed, void *priv, uint64_t **ids);

/* INFO stats: pubsub_channels, pubsub_patterns, pubsubshard_channels. */
unsigned long pubsub_nchannels(void);
unsigned long pubsub_npatterns(void);
unsigned long pubsub_nshardchannels(void);

#endif
