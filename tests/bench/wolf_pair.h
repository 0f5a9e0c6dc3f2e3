/* A wolfSSL client and server joined by two in-memory datagram queues, and the PSK both use:
 * what the bench tests need to run real handshakes without sockets (included by each test). */
#ifndef TESTS_BENCH_WOLF_PAIR_H
#define TESTS_BENCH_WOLF_PAIR_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Eight datagrams each way: more than any flight of a PSK handshake. */
struct q {
	unsigned head, tail;
	int len[8];
	unsigned char buf[8][1500];
};
static struct q c2s, s2c;
static const unsigned char psk[32] = "test-wolf-pair-psk-0123456789ab";
static const char identity[] = "e2m.00000001@ue@bench.example";

static int q_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct q *q = ctx;
	if (q->head == q->tail)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	unsigned i = q->head++ % 8;
	int n = q->len[i] < sz ? q->len[i] : sz;
	memcpy(buf, q->buf[i], (size_t)n);
	return n;
}

static int q_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct q *q = ctx;
	if (q->tail - q->head < 8 && sz <= 1500) {
		unsigned i = q->tail++ % 8;
		memcpy(q->buf[i], buf, (size_t)sz);
		q->len[i] = sz;
	}
	return sz;
}

static unsigned cpsk(WOLFSSL *ssl, const char *hint, char *id, unsigned id_max, unsigned char *key,
		     unsigned key_max)
{
	(void)ssl, (void)hint, (void)key_max;
	assert_true(id_max >= sizeof(identity));
	memcpy(id, identity, sizeof(identity));
	memcpy(key, psk, sizeof(psk));
	return sizeof(psk);
}

/* Only our identity gets the key: a handshake that sent another fails. */
static unsigned spsk(WOLFSSL *ssl, const char *id, unsigned char *key, unsigned key_max)
{
	(void)ssl, (void)key_max;
	if (strcmp(id, identity))
		return 0;
	memcpy(key, psk, sizeof(psk));
	return sizeof(psk);
}

#endif
