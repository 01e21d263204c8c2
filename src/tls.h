/* tls.h: TLS for client connections (OpenSSL), as a thin layer under the
 * raw-fd reactor of networking.c. See docs/tls.md for why this is not a
 * libevent OpenSSL bufferevent.
 *
 * tls.c owns the one server SSL_CTX (built from the tls-* directives at
 * start) and the read/write wrappers over a nonblocking fd. A TLS
 * connection's handshake is driven by the first tls_read/tls_write: the
 * SSL object is in accept state, so SSL_read performs it. The wrappers
 * return what read(2)/write(2) would (bytes, 0 at EOF, -1 with errno),
 * with errno EAGAIN when OpenSSL needs the socket ready in some direction;
 * *want then says which one (TLS_WANT_READ or TLS_WANT_WRITE), so the
 * caller can arm the right event. A TLS protocol error (a plain-text
 * client on the TLS port, a refused certificate) is -1 with errno EPROTO.
 */
#ifndef STRATA_TLS_H
#define STRATA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ssl_st;

enum { TLS_WANT_NONE = 0, TLS_WANT_READ = 1, TLS_WANT_WRITE = 2 };

/* Build the server context from cfg.tls_*; logs why and returns false if
 * the certificate, key or CA cannot be loaded. A no-op when tls-port is 0. */
bool tls_setup(void);
void tls_teardown(void);
bool tls_enabled(void);

/* A server-side TLS connection on fd (accept state); NULL on failure. */
struct ssl_st *tls_conn_new(int fd);
void tls_conn_free(struct ssl_st *ssl);
ssize_t tls_read(struct ssl_st *ssl, void *buf, size_t len, int *want);
ssize_t tls_write(struct ssl_st *ssl, const void *buf, size_t len, int *want);
/* Decrypted bytes OpenSSL holds that read(2) readiness will not report. */
bool tls_pending(struct ssl_st *ssl);

#endif
