/* networking.h: listeners, reactor threads and connections.
 *
 * The main thread owns the listening sockets (TCP and unix) and hands each
 * accepted connection to one of `io-threads` reactor threads, round robin.
 * A reactor thread owns its event_base and its clients for their whole
 * life: it reads, parses (resp.c), runs commands (commands.c) and writes
 * the replies of a whole read batch in one write. */
#ifndef STRATA_NETWORKING_H
#define STRATA_NETWORKING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "client.h"

struct event_base;

bool net_setup(struct event_base *main_base);  /* listeners + threads */
void net_teardown(void);                        /* stop threads, free clients */
int net_nthreads(void);

uint64_t net_connected_clients(void);
uint64_t net_total_commands(void);
uint64_t net_input_bytes(void);
uint64_t net_output_bytes(void);
void net_stat_reset(void);
/* Bytes held by connections: client structs, query and reply buffers
 * (MEMORY STATS clients.normal). Takes the registry lock. */
uint64_t net_clients_memory(void);

/* Client registry, for CLIENT LIST / INFO / KILL. The callback runs under
 * the registry lock; it may read any client's fields (values of other
 * threads' clients are a racy snapshot, as in Redis's threaded I/O). */
typedef void net_client_fn(void *priv, client *c);
void net_foreach_client(net_client_fn *fn, void *priv);
/* Format one CLIENT LIST line (without newline) into buf. */
void net_client_info(client *c, char *buf, size_t len);
/* Ask the owning thread to close c (registry lock must be held). */
void net_kill_client(client *c);
/* Swap the client's name under the registry lock (CLIENT SETNAME). */
void net_set_client_name(client *c, char *name);
void net_set_client_lib(client *c, char **field, char *val);
/* Store val in *field (a client's user pointer) under the registry lock. */
void net_swap_client_user(client *c, void **field, void *val);

/* Output for a client produced by another client's command: published
 * messages and MONITOR lines (pubsub.c). The caller serializes every
 * delivery with one lock (the pubsub lock) and calls net_deliver_begin
 * once after taking it; then each client receives bytes in the order
 * of that lock, whichever thread produced them. net_deliver appends
 * directly when c lives on the calling thread, otherwise queues the bytes
 * for c's thread and wakes it; either way c is flushed soon after. cls is
 * the client-output-buffer-limit class to enforce (COB_NORMAL,
 * COB_PUBSUB): over its hard limit c is closed instead. c must be
 * registered with the caller (so not yet freed: client_free first calls
 * pubsub_client_free, which takes the same lock). */
void net_deliver_begin(void);
void net_deliver(client *c, const char *p, size_t n, int cls);
/* The client-output-buffer-limit class of c, as Redis's getClientType:
 * COB_PUBSUB for a subscribed client, else COB_NORMAL. */
int net_client_type(const client *c);

/* CLIENT PAUSE / UNPAUSE. While a pause lasts, every reactor holds the
 * commands it covers (all of them, or write and may-replicate ones for
 * WRITE) and runs them in order when it ends; keys do not expire. A second
 * pause makes it only stronger (WRITE to ALL) or longer. end_ms is unix
 * ms. Any thread may call. */
enum { NET_PAUSE_NONE, NET_PAUSE_WRITE, NET_PAUSE_ALL };
void net_pause(int type, int64_t end_ms);
void net_unpause(void);
/* Clients waiting for the end of a pause (INFO blocked_clients). */
uint64_t net_held_clients(void);

#endif
