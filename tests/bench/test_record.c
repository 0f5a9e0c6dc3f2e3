/* emse-bench --blast seals records itself with keys re-derived from wolfSSL's master secret:
 * a wolfSSL server must read what it seals, and it must open what the server writes, for both
 * AEAD suites; a tampered record must not open. */
#include "wolf_pair.h"
#include "emse/rng.h"
#include "../../bench/gen/record.h"

static void q_push(struct q *q, const uint8_t *d, int n)
{
	q_send(NULL, (char *)d, n, q);
}

static void roundtrip(const char *suite)
{
	static const unsigned char peer[8] = { 2, 0, 1, 2, 198, 19, 0, 1 };
	WOLFSSL_CTX *cctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
	WOLFSSL_CTX *sctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
	assert_int_equal(wolfSSL_CTX_set_cipher_list(cctx, suite), WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(sctx, suite), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_psk_client_callback(cctx, cpsk);
	wolfSSL_CTX_set_psk_server_callback(sctx, spsk);
	wolfSSL_CTX_SetIORecv(cctx, q_recv);
	wolfSSL_CTX_SetIOSend(cctx, q_send);
	wolfSSL_CTX_SetIORecv(sctx, q_recv);
	wolfSSL_CTX_SetIOSend(sctx, q_send);
	WOLFSSL *cl = wolfSSL_new(cctx), *sv = wolfSSL_new(sctx);
	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	wolfSSL_SetIOReadCtx(cl, &s2c);
	wolfSSL_SetIOWriteCtx(cl, &c2s);
	wolfSSL_SetIOReadCtx(sv, &c2s);
	wolfSSL_SetIOWriteCtx(sv, &s2c);
	wolfSSL_dtls_set_peer(sv, (void *)peer, sizeof(peer));
	wolfSSL_dtls_set_using_nonblock(cl, 1);
	wolfSSL_dtls_set_using_nonblock(sv, 1);
	rec_keep(cl);
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 12 && !(cdone && sdone); i++) {
		if (!cdone)
			cdone = wolfSSL_connect(cl) == WOLFSSL_SUCCESS;
		if (!sdone)
			sdone = wolfSSL_accept(sv) == WOLFSSL_SUCCESS;
	}
	assert_true(cdone && sdone);

	struct rec_keys k = { 0 };
	assert_int_equal(rec_setup(cl, &k), 0);
	uint8_t msg[100], rec[100 + REC_MAX_OVERHEAD], got[200];
	for (int i = 0; i < 100; i++)
		msg[i] = (uint8_t)(i * 7);
	for (int r = 0; r < 3; r++) { /* several, so the sequence numbers advance */
		int n = rec_seal(&k, 23, msg, sizeof(msg), rec);
		assert_true(n > 0);
		q_push(&c2s, rec, n);
		assert_int_equal(wolfSSL_read(sv, got, sizeof(got)), sizeof(msg));
		assert_memory_equal(got, msg, sizeof(msg));
	}
	/* the server's record opens with our server-direction keys */
	assert_int_equal(wolfSSL_write(sv, msg, 50), 50);
	assert_true(s2c.tail > s2c.head);
	unsigned i = s2c.head++ % 8;
	assert_int_equal(rec_open(&k, s2c.buf[i], (uint16_t)s2c.len[i], got, NULL), 50);
	assert_memory_equal(got, msg, 50);
	s2c.buf[i][s2c.len[i] - 1] ^= 1; /* tampered tag */
	assert_int_equal(rec_open(&k, s2c.buf[i], (uint16_t)s2c.len[i], got, NULL), -1);

	rec_free(&k);
	wolfSSL_free(cl);
	wolfSSL_free(sv);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
}

static void ccm8(void **state) { (void)state; roundtrip("PSK-AES128-CCM-8"); }
static void gcm(void **state) { (void)state; roundtrip("PSK-AES128-GCM-SHA256"); }

int main(void)
{
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	wolfSSL_Init();
	const struct CMUnitTest tests[] = { cmocka_unit_test(ccm8), cmocka_unit_test(gcm) };
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	wolfSSL_Cleanup();
	return rc;
}
