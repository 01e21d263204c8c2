/* tls.c: the server's OpenSSL context and TLS reads/writes on the reactor's
 * nonblocking fds (tls.h; why not bufferevents: docs/tls.md).
 *
 * OpenSSL 3 is thread-safe: the one SSL_CTX is shared by every reactor
 * thread; each SSL object belongs to its client's thread. The error queue
 * is per thread, so every call clears it first: SSL_get_error reads it. */
#include "tls.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "config.h"
#include "log.h"

static SSL_CTX *ctx;

bool tls_enabled(void) { return ctx != NULL; }

static void log_ssl_errors(const char *what) {
    unsigned long e;
    char buf[256];
    bool any = false;
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        log_warning("TLS: %s: %s", what, buf);
        any = true;
    }
    if (!any) log_warning("TLS: %s", what);
}

static int key_pass_cb(char *buf, int size, int rwflag, void *u) {
    const char *p = u ? u : "";
    int n = (int)strlen(p);
    if (n > size) n = size;
    memcpy(buf, p, (size_t)n);
    return n;
}

/* tls-protocols: "TLSv1.2 TLSv1.3" and friends, as Redis parses it; the
 * allowed range is from the lowest to the highest version named. */
static bool set_protocols(SSL_CTX *c, const char *spec) {
    static const struct { const char *name; int v; } names[] = {
        {"TLSv1", TLS1_VERSION}, {"TLSv1.1", TLS1_1_VERSION},
        {"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION},
    };
    int lo = 0, hi = 0;
    if (!spec || !spec[0]) spec = "TLSv1.2 TLSv1.3";
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int v = 0;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcasecmp(t, names[i].name)) v = names[i].v;
        if (!v) {
            log_warning("TLS: invalid tls-protocols value: %s", t);
            return false;
        }
        if (!lo || v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (!lo) {
        log_warning("TLS: tls-protocols names no protocol");
        return false;
    }
    return SSL_CTX_set_min_proto_version(c, lo) && SSL_CTX_set_max_proto_version(c, hi);
}

bool tls_setup(void) {
    if (cfg.tls_port <= 0) return true;
    if (!cfg.tls_cert_file[0] || !cfg.tls_key_file[0]) {
        log_warning("TLS: tls-port needs tls-cert-file and tls-key-file");
        return false;
    }
    if (cfg.tls_auth_clients != TLS_AUTH_NO && !cfg.tls_ca_cert_file[0] && !cfg.tls_ca_cert_dir[0]) {
        log_warning("TLS: tls-auth-clients needs tls-ca-cert-file or tls-ca-cert-dir (or tls-auth-clients no)");
        return false;
    }
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) {
        log_ssl_errors("creating the context");
        return false;
    }
    /* Partial writes and a moving buffer: flush_output retries a write
     * from wherever its obuf is now (compacted or grown), like write(2). */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    /* A peer that closes without close_notify is an ordinary EOF. */
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
    if (cfg.tls_prefer_server_ciphers) SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (cfg.tls_session_caching) {
        static const unsigned char sid[] = "strata";
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_session_id_context(c, sid, sizeof(sid) - 1);
    } else {
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    }
    if (!set_protocols(c, cfg.tls_protocols)) goto fail;
    if (cfg.tls_ciphers[0] && !SSL_CTX_set_cipher_list(c, cfg.tls_ciphers)) {
        log_ssl_errors("tls-ciphers");
        goto fail;
    }
    if (cfg.tls_ciphersuites[0] && !SSL_CTX_set_ciphersuites(c, cfg.tls_ciphersuites)) {
        log_ssl_errors("tls-ciphersuites");
        goto fail;
    }
    SSL_CTX_set_default_passwd_cb(c, key_pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(c, cfg.tls_key_file_pass);
    if (SSL_CTX_use_certificate_chain_file(c, cfg.tls_cert_file) <= 0) {
        log_ssl_errors("loading tls-cert-file");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c, cfg.tls_key_file, SSL_FILETYPE_PEM) <= 0) {
        log_ssl_errors("loading tls-key-file");
        goto fail;
    }
    if (!SSL_CTX_check_private_key(c)) {
        log_ssl_errors("tls-key-file does not match tls-cert-file");
        goto fail;
    }
    if ((cfg.tls_ca_cert_file[0] || cfg.tls_ca_cert_dir[0]) &&
        SSL_CTX_load_verify_locations(c, cfg.tls_ca_cert_file[0] ? cfg.tls_ca_cert_file : NULL,
                                      cfg.tls_ca_cert_dir[0] ? cfg.tls_ca_cert_dir : NULL) <= 0) {
        log_ssl_errors("loading tls-ca-cert-file / tls-ca-cert-dir");
        goto fail;
    }
    int mode = SSL_VERIFY_NONE;
    if (cfg.tls_auth_clients == TLS_AUTH_YES) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (cfg.tls_auth_clients == TLS_AUTH_OPTIONAL) mode = SSL_VERIFY_PEER;
    SSL_CTX_set_verify(c, mode, NULL);
    ctx = c;
    return true;
fail:
    SSL_CTX_free(c);
    return false;
}

void tls_teardown(void) {
    SSL_CTX_free(ctx);
    ctx = NULL;
}

SSL *tls_conn_new(int fd) {
    ERR_clear_error();
    SSL *s = SSL_new(ctx);
    if (!s) return NULL;
    if (!SSL_set_fd(s, fd)) {
        SSL_free(s);
        return NULL;
    }
    SSL_set_accept_state(s);
    return s;
}

void tls_conn_free(SSL *s) {
    if (!s) return;
    /* Best effort close_notify; never wait for the peer's. */
    if (SSL_is_init_finished(s)) {
        ERR_clear_error();
        SSL_shutdown(s);
    }
    SSL_free(s);
    ERR_clear_error();
}

/* Map an SSL_read/SSL_write failure to read(2)/write(2) terms. */
static ssize_t fail(SSL *s, int r, int *want) {
    int e = SSL_get_error(s, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = TLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *want = TLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) return 0;   /* EOF */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) errno = EIO;
        return -1;
    default: {
        unsigned long err = ERR_peek_error();
        char buf[256];
        ERR_error_string_n(err, buf, sizeof(buf));
        log_verbose("TLS error: %s", err ? buf : "unknown");
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
    }
}

ssize_t tls_read(SSL *s, void *buf, size_t len, int *want) {
    ERR_clear_error();
    errno = 0;
    *want = TLS_WANT_NONE;
    int r = SSL_read(s, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return r > 0 ? r : fail(s, r, want);
}

ssize_t tls_write(SSL *s, const void *buf, size_t len, int *want) {
    ERR_clear_error();
    errno = 0;
    *want = TLS_WANT_NONE;
    int r = SSL_write(s, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return r > 0 ? r : fail(s, r, want);
}

bool tls_pending(SSL *s) { return SSL_pending(s) > 0 || SSL_has_pending(s); }
