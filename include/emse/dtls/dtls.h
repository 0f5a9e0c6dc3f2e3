/* wolfSSL as the worker's DTLS 1.2 handshake engine: one CTX per worker, a pool of WOLFSSL objects
 * reused across handshakes (WOLFSSL-NOTES.md: wolfSSL_new+free costs as much as a handshake), and
 * the custom I/O that moves datagrams between mbufs and wolfSSL with no socket. The glue knows
 * nothing of DPDK: the worker gives it a receive buffer and a send function. */
#ifndef EMSE_DTLS_H
#define EMSE_DTLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct WOLFSSL WOLFSSL;
typedef struct WOLFSSL_CTX WOLFSSL_CTX;
struct emse_session;

/* Sends one datagram of the session's flow; returns 0 or -1 (no buffer: count and drop). */
typedef int (*emse_dtls_send_fn)(void *worker, struct emse_session *s, const uint8_t *data,
				 size_t len);

struct emse_dtls_pool {
	WOLFSSL_CTX *ctx;
	WOLFSSL **free;
	uint32_t n_free, cap;
	uint32_t out;         /* objects handed to sessions: refill counts them as the pool's */
	uint32_t target;      /* objects the pool should hold; refilled outside the packet path */
	uint8_t blob[512];    /* state of a never-used object, imported on reuse */
	uint32_t blob_len;
	void *worker;         /* handed to send */
	emse_dtls_send_fn send;
	uint64_t created, reused, discarded;
};

/* The glue sees a session only as the I/O context an object is bound to (emse_dtls_pool_get). Its
 * owner (dataplane/dtls_conn.c) implements these three for it:
 * the datagram the next receive hands over (NULL: none, wolfSSL waits for the next one); */
void emse_dtls_conn_input(struct emse_session *s, const uint8_t *dgram, size_t len);
/* takes that datagram into buf, cut to sz (DTLS: one datagram per read); -1 if there is none; */
int emse_dtls_conn_recv(struct emse_session *s, uint8_t *buf, int sz);
/* the PSK looked up for the handshake, if identity is the one that was peeked; its length or 0. */
unsigned emse_dtls_conn_psk(struct emse_session *s, const char *identity, uint8_t *key,
			    unsigned max_len);

/* suites: EMSE_SUITE_* bits; psk_hint "" for none. */
int emse_dtls_global_init(void);
WOLFSSL_CTX *emse_dtls_ctx_new(uint32_t suites, const char *psk_hint);
void emse_dtls_ctx_free(WOLFSSL_CTX *ctx);

int emse_dtls_pool_init(struct emse_dtls_pool *p, WOLFSSL_CTX *ctx, uint32_t target,
			void *worker, emse_dtls_send_fn send);
void emse_dtls_pool_fini(struct emse_dtls_pool *p);
/* The pool whose worker runs on this thread: wolfSSL's send callback reaches it through this. */
void emse_dtls_pool_bind(struct emse_dtls_pool *p);
/* Takes a ready object bound to session s, with the cookie secret that validated the client's
 * ClientHello and the same peer bytes the cookie was computed over. NULL if the pool is empty. */
WOLFSSL *emse_dtls_pool_get(struct emse_dtls_pool *p, struct emse_session *s,
			    const uint8_t *cookie_secret, size_t secret_len, const uint8_t *peer,
			    size_t peer_len);
/* Returns an object after a clean end (reset and reused); after a fatal error pass fatal=1 and
 * it is freed instead (wolfSSL does not clear its input buffer then). detached: the object was
 * given up with emse_dtls_pool_detach. */
void emse_dtls_pool_put(struct emse_dtls_pool *p, WOLFSSL *ssl, int fatal, int detached);
/* An object that stays with an established session (a suite the compact layer does not handle)
 * no longer counts as the pool's, so the pool refills for new handshakes. */
void emse_dtls_pool_detach(struct emse_dtls_pool *p);
/* Creates objects up to target, at most max_new of them (called from the worker's timer tick). */
unsigned emse_dtls_pool_refill(struct emse_dtls_pool *p, unsigned max_new);

/* Result of feeding one datagram to a session's object. */
enum emse_dtls_rc {
	EMSE_DTLS_WANT = 0,      /* handshake goes on: wait for the next datagram */
	EMSE_DTLS_DONE,          /* handshake complete */
	EMSE_DTLS_CLOSED,        /* close_notify received */
	EMSE_DTLS_FATAL,         /* fatal error: alert sent where wolfSSL does */
};

/* Drives the handshake with datagram (may be NULL to re-enter after a key arrived). *err gets
 * wolfSSL's error code on FATAL. */
enum emse_dtls_rc emse_dtls_handshake(WOLFSSL *ssl, struct emse_session *s, const uint8_t *dgram,
				      size_t len, int *err);
/* Established: hands each application record of the datagram to on_data, then returns. */
typedef void (*emse_dtls_data_fn)(void *arg, struct emse_session *s, uint8_t *data, size_t len);
enum emse_dtls_rc emse_dtls_read(WOLFSSL *ssl, struct emse_session *s, const uint8_t *dgram,
				 size_t len, uint8_t *buf, size_t buf_size, emse_dtls_data_fn on_data,
				 void *arg, int *err);
int emse_dtls_write(WOLFSSL *ssl, const uint8_t *data, size_t len);
/* Seconds until our last flight should be resent. */
int emse_dtls_timeout_s(WOLFSSL *ssl);
/* Resends the last flight; returns 0, or -1 when wolfSSL gives up. */
int emse_dtls_retransmit(WOLFSSL *ssl);
void emse_dtls_shutdown(WOLFSSL *ssl);
/* The cipher suite name after the handshake. */
const char *emse_dtls_cipher(WOLFSSL *ssl);
/* Records wolfSSL discarded because they did not decrypt: DTLS drops them silently (RFC 6347
 * 4.1.2.7), so a wrong PSK would otherwise look like a lost Finished until the timeout. */
uint32_t emse_dtls_mac_drops(WOLFSSL *ssl);
/* Fatal bad_record_mac alert (RFC 6347 allows a fatal alert instead of a silent drop). */
void emse_dtls_alert_bad_mac(WOLFSSL *ssl);
/* Classifies a wolfSSL error code for the failure counters (enum emse_hs_fail). */
int emse_dtls_fail_reason(int err);

#endif
