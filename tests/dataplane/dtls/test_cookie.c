/* dataplane/dtls/cookie.c proven against wolfSSL 5.7.2 itself: in-memory wolfSSL servers with our
 * cookie secret and peer blob answer a real client's ClientHellos, and our HelloVerifyRequest
 * must be byte-identical to theirs; the cookie wolfSSL issued must verify with ours (current
 * secret, previous after one rotation, not after two), and a fresh wolfSSL server given the
 * secret that matched must accept it statelessly and go on with a ServerHello. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wolfmem.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls_peek.h"

/* The worker's peer blob layout, as the test chooses it: 16-byte address (IPv4-mapped here)
 * followed by the 2-byte port. */
static const uint8_t PEER[18] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 2,
				 0x9c, 0x40};

static struct wm_queue c2s, s2c;
static struct wm_end ce = {&s2c, &c2s}, se = {&c2s, &s2c};
static WOLFSSL_CTX *cctx, *sctx;
static WOLFSSL *client;
static struct emse_cookie_keys keys;

/* Datagrams of the exchange, captured in setup. */
static uint8_t CH1[WM_DG_SIZE], CH2[WM_DG_SIZE], HVR1[WM_DG_SIZE];
static size_t CH1_LEN, CH2_LEN, HVR1_LEN;

static WOLFSSL *server_with(const uint8_t *secret, const uint8_t *peer, size_t peer_len)
{
	WOLFSSL *s = wm_new(sctx, &se);
	if (!s)
		return NULL;
	if (wolfSSL_DTLS_SetCookieSecret(s, secret, EMSE_COOKIE_SECRET_LEN) != 0 ||
	    wolfSSL_dtls_set_peer(s, (void *)peer, (unsigned)peer_len) != WOLFSSL_SUCCESS) {
		wolfSSL_free(s);
		return NULL;
	}
	return s;
}

static int setup(void **state)
{
	(void)state;
	cctx = wm_ctx(0);
	sctx = wm_ctx(1);
	if (!cctx || !sctx || emse_cookie_init(&keys, 1000) != 0)
		return -1;
	client = wm_new(cctx, &ce);
	if (!client || wm_step(client, 0) != 0 || c2s.count != 1)
		return -1;
	CH1_LEN = wm_pop(&c2s, CH1, sizeof(CH1));

	/* the listener: a wolfSSL server with our current secret answers the first ClientHello */
	WOLFSSL *listener = server_with(keys.cur, PEER, sizeof(PEER));
	if (!listener)
		return -1;
	wm_push(&c2s, CH1, CH1_LEN);
	if (wm_step(listener, 1) != 0 || s2c.count != 1)
		return -1;
	HVR1_LEN = wm_pop(&s2c, HVR1, sizeof(HVR1));
	wolfSSL_free(listener);

	/* the client answers the HVR with its second ClientHello, cookie included */
	wm_push(&s2c, HVR1, HVR1_LEN);
	if (wm_step(client, 0) != 0 || c2s.count != 1)
		return -1;
	CH2_LEN = wm_pop(&c2s, CH2, sizeof(CH2));
	return 0;
}

static int teardown(void **state)
{
	wolfSSL_free(client);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
	emse_cookie_wipe(&keys);
	return wm_done(state);
}

static void test_hvr_identical_to_wolfssl(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	uint8_t hvr[EMSE_HVR_MAX];
	assert_int_equal(dtls_parse_client_hello(CH1, CH1_LEN, &ch), DTLS_PEEK_OK);
	assert_int_equal(ch.cookie_len, 0);
	size_t n = emse_cookie_build_hvr(keys.cur, PEER, sizeof(PEER), &ch, hvr);
	assert_int_equal(n, EMSE_HVR_MAX);
	assert_int_equal(HVR1_LEN, n);
	assert_memory_equal(hvr, HVR1, n);
}

/* The first ClientHello has record and message sequence 0, which would hide a field we fail to
 * copy. The second has 1 and 1: a wolfSSL server with another secret rejects its cookie and
 * answers with a fresh HVR, which must again match ours byte for byte. */
static void test_hvr_identical_nonzero_sequence(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch), DTLS_PEEK_OK);
	assert_int_equal(ch.record_seq, 1);
	assert_int_equal(ch.message_seq, 1);

	uint8_t other[EMSE_COOKIE_SECRET_LEN];
	memset(other, 0x5c, sizeof(other));
	WOLFSSL *s = server_with(other, PEER, sizeof(PEER));
	assert_non_null(s);
	wm_push(&c2s, CH2, CH2_LEN);
	assert_int_equal(wm_step(s, 1), 0);
	uint8_t theirs[WM_DG_SIZE];
	assert_int_equal(s2c.count, 1);
	size_t tn = wm_pop(&s2c, theirs, sizeof(theirs));
	wolfSSL_free(s);

	uint8_t ours[EMSE_HVR_MAX];
	size_t n = emse_cookie_build_hvr(other, PEER, sizeof(PEER), &ch, ours);
	assert_int_equal(tn, n);
	assert_memory_equal(ours, theirs, n);
	assert_int_equal(theirs[10], 1); /* record sequence 1 echoed */
	assert_int_equal(theirs[18], 1); /* message_seq 1 echoed */
}

/* Other clients (OpenSSL s_client) put DTLS 1.0 (0xfeff) on the record and may offer it as
 * client_version: wolfSSL's HVR still carries its own record version, and ours must agree. */
static void test_hvr_identical_dtls10_hello(void **state)
{
	(void)state;
	uint8_t b[WM_DG_SIZE];
	memcpy(b, CH1, CH1_LEN);
	b[2] = 0xff;       /* record version 0xfeff */
	b[13 + 12 + 1] = 0xff; /* client_version 0xfeff */
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(b, CH1_LEN, &ch), DTLS_PEEK_OK);
	assert_int_equal(ch.version[1], 0xff);

	WOLFSSL *s = server_with(keys.cur, PEER, sizeof(PEER));
	assert_non_null(s);
	wm_push(&c2s, b, CH1_LEN);
	assert_int_equal(wm_step(s, 1), 0);
	assert_int_equal(s2c.count, 1);
	uint8_t theirs[WM_DG_SIZE];
	size_t tn = wm_pop(&s2c, theirs, sizeof(theirs));
	wolfSSL_free(s);

	uint8_t ours[EMSE_HVR_MAX];
	size_t n = emse_cookie_build_hvr(keys.cur, PEER, sizeof(PEER), &ch, ours);
	assert_int_equal(tn, n);
	assert_memory_equal(ours, theirs, n);
	/* and the cookie differs from the DTLS 1.2 hello's: client_version is covered */
	assert_memory_not_equal(ours + n - 32, HVR1 + HVR1_LEN - 32, 32);
}

static void test_cookie_equals_wolfssl_cookie(void **state)
{
	(void)state;
	struct dtls_client_hello ch1, ch2;
	uint8_t c[EMSE_COOKIE_LEN];
	assert_int_equal(dtls_parse_client_hello(CH1, CH1_LEN, &ch1), DTLS_PEEK_OK);
	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch2), DTLS_PEEK_OK);
	assert_int_equal(ch2.cookie_len, EMSE_COOKIE_LEN);
	/* the cookie covers no field the client changes between its two hellos */
	emse_cookie_compute(keys.cur, PEER, sizeof(PEER), &ch1, c);
	assert_memory_equal(c, ch2.cookie, EMSE_COOKIE_LEN);
	emse_cookie_compute(keys.cur, PEER, sizeof(PEER), &ch2, c);
	assert_memory_equal(c, ch2.cookie, EMSE_COOKIE_LEN);
}

static void test_verify_across_rotations(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch), DTLS_PEEK_OK);
	struct emse_cookie_keys k = keys;
	assert_ptr_equal(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch), k.cur);
	assert_int_equal(emse_cookie_rotate(&k, 2000), 0);
	assert_ptr_equal(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch), k.prev);
	assert_int_equal(emse_cookie_rotate(&k, 3000), 0);
	assert_null(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch));
	emse_cookie_wipe(&k);
}

static void test_fresh_server_accepts_statelessly(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch), DTLS_PEEK_OK);
	/* after one rotation, as the worker would: the fresh object gets the secret that matched */
	struct emse_cookie_keys k = keys;
	assert_int_equal(emse_cookie_rotate(&k, 2000), 0);
	const uint8_t *secret = emse_cookie_verify(&k, PEER, sizeof(PEER), &ch);
	assert_ptr_equal(secret, k.prev);

	WOLFSSL *s = server_with(secret, PEER, sizeof(PEER));
	assert_non_null(s);
	wm_push(&c2s, CH2, CH2_LEN);
	assert_int_equal(wm_step(s, 1), 0);
	assert_true(s2c.count >= 1);
	/* first record of its answer: a ServerHello (type 2), not another HelloVerifyRequest */
	const uint8_t *d = s2c.dg[s2c.head];
	assert_int_equal(d[0], DTLS_CT_HANDSHAKE);
	assert_int_equal(d[13], 2);

	/* and the handshake completes with the real client */
	int cd = 0, sd = 0;
	for (int i = 0; i < 20 && !(cd == 1 && sd == 1); i++) {
		if (cd != 1)
			cd = wm_step(client, 0);
		if (sd != 1)
			sd = wm_step(s, 1);
		assert_true(cd >= 0 && sd >= 0);
	}
	assert_int_equal(cd, 1);
	assert_int_equal(sd, 1);
	wolfSSL_free(s);
	emse_cookie_wipe(&k);
}

static void test_tampered_fails(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	uint8_t b[WM_DG_SIZE];
	struct emse_cookie_keys k = keys;
	assert_int_equal(emse_cookie_rotate(&k, 2000), 0); /* both secrets in play */

	memcpy(b, CH2, CH2_LEN);
	assert_int_equal(dtls_parse_client_hello(b, CH2_LEN, &ch), DTLS_PEEK_OK);
	assert_non_null(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch));
	size_t off_cookie = (size_t)(ch.cookie - b), off_random = (size_t)(ch.random - b);
	size_t off_suites = (size_t)(ch.suites - b), off_comp = (size_t)(ch.compression - b);
	size_t off_version = (size_t)(ch.version - b);

	const struct {
		const char *what;
		size_t off;
		uint8_t x;
	} flips[] = {
		{"cookie first byte", off_cookie, 0x01},
		{"cookie last byte", off_cookie + 31, 0x80},
		{"random", off_random + 7, 0x10},
		{"cipher suite", off_suites + 1, 0x01},
		{"compression", off_comp, 0x01},
		{"client_version", off_version + 1, 0x02}, /* 0xfefd -> 0xfeff */
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(b, CH2, CH2_LEN);
		b[flips[i].off] ^= flips[i].x;
		assert_int_equal(dtls_parse_client_hello(b, CH2_LEN, &ch), DTLS_PEEK_OK);
		if (emse_cookie_verify(&k, PEER, sizeof(PEER), &ch) != NULL)
			fail_msg("tampered %s still verifies", flips[i].what);
	}

	/* another peer (port changed) cannot reuse the cookie */
	memcpy(b, CH2, CH2_LEN);
	assert_int_equal(dtls_parse_client_hello(b, CH2_LEN, &ch), DTLS_PEEK_OK);
	uint8_t peer2[sizeof(PEER)];
	memcpy(peer2, PEER, sizeof(PEER));
	peer2[17] ^= 1;
	assert_null(emse_cookie_verify(&k, peer2, sizeof(peer2), &ch));
	/* nor a prefix of the peer blob */
	assert_null(emse_cookie_verify(&k, PEER, sizeof(PEER) - 2, &ch));
	/* a truncated cookie is not compared at all, as in wolfSSL */
	struct dtls_client_hello shortc = ch;
	shortc.cookie_len = 31;
	assert_null(emse_cookie_verify(&k, PEER, sizeof(PEER), &shortc));
	/* an empty cookie */
	struct dtls_client_hello none;
	assert_int_equal(dtls_parse_client_hello(CH1, CH1_LEN, &none), DTLS_PEEK_OK);
	assert_null(emse_cookie_verify(&k, PEER, sizeof(PEER), &none));
	emse_cookie_wipe(&k);
}

static void test_keys_lifecycle(void **state)
{
	(void)state;
	struct emse_cookie_keys k;
	static const uint8_t zero[EMSE_COOKIE_SECRET_LEN];
	assert_int_equal(emse_cookie_init(&k, 42), 0);
	assert_int_equal(k.rotated_at, 42);
	assert_int_equal(k.generation, 0);
	assert_int_equal(k.has_prev, 0);
	assert_memory_not_equal(k.cur, zero, sizeof(zero));
	uint8_t first[EMSE_COOKIE_SECRET_LEN];
	memcpy(first, k.cur, sizeof(first));
	assert_int_equal(emse_cookie_rotate(&k, 43), 0);
	assert_int_equal(k.generation, 1);
	assert_int_equal(k.has_prev, 1);
	assert_int_equal(k.rotated_at, 43);
	assert_memory_equal(k.prev, first, sizeof(first));
	assert_memory_not_equal(k.cur, first, sizeof(first));
	emse_cookie_wipe(&k);
	assert_memory_equal(k.cur, zero, sizeof(zero));
	assert_memory_equal(k.prev, zero, sizeof(zero));
	assert_int_equal(k.has_prev, 0);
}

/* The per-ClientHello path runs on the worker: after the first call (which makes the thread's
 * HMAC context) verify and build_hvr must not call the allocator at all. Counted by
 * interposing malloc and friends over glibc's, so only in the plain build: under ASan the
 * sanitizer owns the allocator and the test is skipped. */
#include "malloc_count.h"

static void test_no_heap_per_call(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();
#else
	struct dtls_client_hello ch;
	uint8_t hvr[EMSE_HVR_MAX];
	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch), DTLS_PEEK_OK);
	assert_non_null(emse_cookie_verify(&keys, PEER, sizeof(PEER), &ch)); /* warm-up */
	/* the counter itself works */
	counting = 1;
	void *volatile probe = malloc(16); /* volatile: the pair must not be optimised away */
	free(probe);
	counting = 0;
	assert_int_equal(n_alloc, 2);
	n_alloc = 0;

	int ok = 1;
	counting = 1;
	for (int i = 0; i < 1000; i++) {
		ok &= emse_cookie_verify(&keys, PEER, sizeof(PEER), &ch) != NULL;
		ok &= emse_cookie_build_hvr(keys.cur, PEER, sizeof(PEER), &ch, hvr) == EMSE_HVR_MAX;
	}
	counting = 0;
	assert_true(ok);
	assert_int_equal(n_alloc, 0);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hvr_identical_to_wolfssl),
		cmocka_unit_test(test_hvr_identical_nonzero_sequence),
		cmocka_unit_test(test_hvr_identical_dtls10_hello),
		cmocka_unit_test(test_cookie_equals_wolfssl_cookie),
		cmocka_unit_test(test_verify_across_rotations),
		cmocka_unit_test(test_tampered_fails),
		cmocka_unit_test(test_keys_lifecycle),
		cmocka_unit_test(test_no_heap_per_call),
		/* last: it completes the client's handshake */
		cmocka_unit_test(test_fresh_server_accepts_statelessly),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
