/* Test helper (header-only, for test_dtls_peek.c and test_cookie.c): real wolfSSL 5.7.2 DTLS 1.2
 * PSK clients and servers talking through in-memory datagram queues, so the tests check our
 * parsers and cookie against bytes wolfSSL itself produces and accepts. Never include OpenSSL
 * headers next to this one (wolfSSL is built with OPENSSL_EXTRA). */
#ifndef EMSE_TEST_WOLFMEM_H
#define EMSE_TEST_WOLFMEM_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <string.h>

#include "emse/rng.h"

#define WM_MAX_DG 16
#define WM_DG_SIZE 2048

struct wm_queue {
	uint8_t dg[WM_MAX_DG][WM_DG_SIZE];
	size_t len[WM_MAX_DG];
	int head, count;
	/* every datagram ever pushed, in order, for the tests to look at */
	uint8_t log[WM_MAX_DG][WM_DG_SIZE];
	size_t log_len[WM_MAX_DG];
	int nlog;
};

/* One endpoint's view: what it reads from, where it writes. */
struct wm_end {
	struct wm_queue *in, *out;
};

static void wm_push(struct wm_queue *q, const uint8_t *p, size_t n)
{
	if (q->count == WM_MAX_DG || n > WM_DG_SIZE)
		return;
	if (q->nlog < WM_MAX_DG) {
		memcpy(q->log[q->nlog], p, n);
		q->log_len[q->nlog++] = n;
	}
	int slot = (q->head + q->count) % WM_MAX_DG;
	memcpy(q->dg[slot], p, n);
	q->len[slot] = n;
	q->count++;
}

/* Pops the oldest datagram into out; returns its length or 0 when empty. */
static size_t wm_pop(struct wm_queue *q, uint8_t *out, size_t cap)
{
	if (!q->count)
		return 0;
	size_t n = q->len[q->head];
	if (n > cap)
		n = cap;
	memcpy(out, q->dg[q->head], n);
	q->head = (q->head + 1) % WM_MAX_DG;
	q->count--;
	return n;
}

static int wm_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct wm_end *e = ctx;
	size_t n = wm_pop(e->in, (uint8_t *)buf, (size_t)sz);
	return n ? (int)n : WOLFSSL_CBIO_ERR_WANT_READ;
}

static int wm_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct wm_end *e = ctx;
	wm_push(e->out, (const uint8_t *)buf, (size_t)sz);
	return sz;
}

static const char *wm_identity = "e2m.0badcafe@app.example";
static const uint8_t wm_psk[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static unsigned int wm_psk_client(WOLFSSL *ssl, const char *hint, char *identity,
				  unsigned int id_max, unsigned char *key, unsigned int key_max)
{
	(void)ssl;
	(void)hint;
	if (strlen(wm_identity) + 1 > id_max || key_max < sizeof(wm_psk))
		return 0;
	strcpy(identity, wm_identity);
	memcpy(key, wm_psk, sizeof(wm_psk));
	return sizeof(wm_psk);
}

static unsigned int wm_psk_server(WOLFSSL *ssl, const char *identity, unsigned char *key,
				  unsigned int key_max)
{
	(void)ssl;
	if (!identity || strcmp(identity, wm_identity) != 0 || key_max < sizeof(wm_psk))
		return 0;
	memcpy(key, wm_psk, sizeof(wm_psk));
	return sizeof(wm_psk);
}

#define WM_SUITES "PSK-AES128-CCM-8:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256"

static WOLFSSL_CTX *wm_ctx(int server)
{
	static int inited;
	if (!inited) {
		wolfSSL_Init();
		/* wolfSSL draws from emse_rand_block (crypto/rng.c): a fixed stream makes every
		 * run capture the same handshake bytes, so a failure reproduces. */
		emse_rng_seed_thread(0x656d7365, 1);
		inited = 1;
	}
	WOLFSSL_CTX *c = wolfSSL_CTX_new(server ? wolfDTLSv1_2_server_method()
						: wolfDTLSv1_2_client_method());
	if (!c)
		return NULL;
	if (server)
		wolfSSL_CTX_set_psk_server_callback(c, wm_psk_server);
	else
		wolfSSL_CTX_set_psk_client_callback(c, wm_psk_client);
	wolfSSL_CTX_set_cipher_list(c, WM_SUITES);
	wolfSSL_CTX_SetIORecv(c, wm_recv);
	wolfSSL_CTX_SetIOSend(c, wm_send);
	return c;
}

static WOLFSSL *wm_new(WOLFSSL_CTX *c, struct wm_end *e)
{
	WOLFSSL *s = wolfSSL_new(c);
	if (!s)
		return NULL;
	wolfSSL_SetIOReadCtx(s, e);
	wolfSSL_SetIOWriteCtx(s, e);
	wolfSSL_dtls_set_using_nonblock(s, 1);
	return s;
}

static int wm_done(void **state)
{
	(void)state;
	emse_rng_unseed_thread();
	wolfSSL_Cleanup();
	return 0;
}

/* Runs one step of the handshake; returns 1 when done, 0 when waiting for data, -1 on error. */
static int wm_step(WOLFSSL *s, int server)
{
	int r = server ? wolfSSL_accept(s) : wolfSSL_connect(s);
	if (r == WOLFSSL_SUCCESS)
		return 1;
	int err = wolfSSL_get_error(s, r);
	return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE ? 0 : -1;
}

#endif
