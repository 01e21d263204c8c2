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
