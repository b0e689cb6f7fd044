/*
 * LD_PRELOAD library for wrk in scripts/bench-tls (built there with gcc at run time).
 *
 * wrk keeps one OpenSSL SSL object per connection slot; when a server closes the connection it
 * calls SSL_shutdown + SSL_clear and SSL_connect again on the same object, and SSL_clear keeps
 * the last session. So with a server that hands out TLS 1.3 session tickets (swift-nio-ssl's
 * BoringSSL does by default, with no setting to turn it off), wrk's "new" connections resume
 * instead of doing a full handshake. This library wraps SSL_connect:
 *   - unless BENCH_TLS_ALLOW_RESUME=1, a handshake that has not started yet is given no session,
 *     so every handshake is a full one whatever the server offers (a first-time visitor);
 *   - it counts the handshakes wrk completes, full and resumed (SSL_session_reused), and writes
 *     "handshakes_full=N handshakes_resumed=M" to the file named by BENCH_TLS_HANDSHAKE_LOG when
 *     wrk exits.
 * Nothing else in wrk changes. No OpenSSL headers needed: the few functions are declared here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_in_before(const SSL *ssl);
int SSL_session_reused(const SSL *ssl);
int SSL_set_session(SSL *ssl, SSL_SESSION *session);

static int (*real_connect)(SSL *);
static int allow_resume = -1;
static long full_handshakes, resumed_handshakes;   /* wrk -t1: one thread calls SSL_connect */

int SSL_connect(SSL *ssl) {
    if (real_connect == NULL) {
        real_connect = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
        if (real_connect == NULL) abort();
    }
    if (allow_resume < 0) {
        const char *value = getenv("BENCH_TLS_ALLOW_RESUME");
        allow_resume = value != NULL && strcmp(value, "1") == 0;
    }
    if (!allow_resume && SSL_in_before(ssl)) SSL_set_session(ssl, NULL);
    int result = real_connect(ssl);
    if (result == 1) {
        if (SSL_session_reused(ssl)) resumed_handshakes++;
        else full_handshakes++;
    }
    return result;
}

__attribute__((destructor)) static void write_counts(void) {
    const char *path = getenv("BENCH_TLS_HANDSHAKE_LOG");
    if (path == NULL || *path == '\0') return;
    FILE *file = fopen(path, "w");
    if (file == NULL) return;
    fprintf(file, "handshakes_full=%ld handshakes_resumed=%ld\n", full_handshakes, resumed_handshakes);
    fclose(file);
}
