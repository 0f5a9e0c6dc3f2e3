/* emse-bench reuses wolfSSL client objects: wolfSSL_clear, then wolfSSL_dtls_import of the state
 * of a never-used object (WOLFSSL-NOTES.md found this for servers). It leans on wolfSSL internals,
 * so this test proves it for clients: hundreds of full handshakes (HelloVerifyRequest included)
 * on one client object, against a fresh server object each time. */
#include "wolf_pair.h"
#include "emse/rng.h"

static WOLFSSL_CTX *ctx_new(int server, const char *suite)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(server ? wolfDTLSv1_2_server_method() : wolfDTLSv1_2_client_method());
	assert_non_null(ctx);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(ctx, suite), WOLFSSL_SUCCESS);
	wolfSSL_CTX_SetIORecv(ctx, q_recv);
	wolfSSL_CTX_SetIOSend(ctx, q_send);
	if (server)
		wolfSSL_CTX_set_psk_server_callback(ctx, spsk);
	else
		wolfSSL_CTX_set_psk_client_callback(ctx, cpsk);
	return ctx;
}

/* Returns 1 if the handshake completed, with *hvr set if the server sent a HelloVerifyRequest. */
static int handshake(WOLFSSL *cl, WOLFSSL_CTX *sctx, int *hvr)
{
	static const unsigned char peer[8] = { 2, 0, 1, 2, 198, 19, 0, 1 };
	c2s.head = c2s.tail = s2c.head = s2c.tail = 0;
	WOLFSSL *sv = wolfSSL_new(sctx);
	assert_non_null(sv);
	wolfSSL_SetIOReadCtx(sv, &c2s);
	wolfSSL_SetIOWriteCtx(sv, &s2c);
	wolfSSL_dtls_set_peer(sv, (void *)peer, sizeof(peer));
	wolfSSL_SetIOReadCtx(cl, &s2c);
	wolfSSL_SetIOWriteCtx(cl, &c2s);
	wolfSSL_dtls_set_using_nonblock(cl, 1);
	wolfSSL_dtls_set_using_nonblock(sv, 1);
	int cdone = 0, sdone = 0;
	*hvr = 0;
	for (int round = 0; round < 12 && !(cdone && sdone); round++) {
		if (!cdone) {
			int r = wolfSSL_connect(cl);
			cdone = r == WOLFSSL_SUCCESS;
			if (!cdone && wolfSSL_get_error(cl, r) != WOLFSSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			unsigned before = s2c.tail;
			int r = wolfSSL_accept(sv);
			sdone = r == WOLFSSL_SUCCESS;
			if (round == 0 && s2c.tail > before && s2c.buf[before % 8][13] == 3)
				*hvr = 1;
			if (!sdone && wolfSSL_get_error(sv, r) != WOLFSSL_ERROR_WANT_READ)
				break;
		}
	}
	wolfSSL_free(sv);
	return cdone && sdone;
}

static void pooled_client(const char *suite)
{
	WOLFSSL_CTX *cctx = ctx_new(0, suite), *sctx = ctx_new(1, suite);
	WOLFSSL *fresh = wolfSSL_new(cctx);
	unsigned char blob[512];
	unsigned sz = sizeof(blob);
	int blob_len = wolfSSL_dtls_export_state_only(fresh, blob, &sz);
	assert_true(blob_len > 0);
	wolfSSL_free(fresh);

	WOLFSSL *cl = wolfSSL_new(cctx);
	int hvr;
	for (int i = 0; i < 300; i++) {
		assert_int_equal(handshake(cl, sctx, &hvr), 1);
		assert_int_equal(hvr, 1);
		assert_int_equal(wolfSSL_clear(cl), WOLFSSL_SUCCESS);
		assert_true(wolfSSL_dtls_import(cl, blob, (unsigned)blob_len) > 0);
	}
	wolfSSL_free(cl);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
}

static void pooled_client_ccm8(void **state) { (void)state; pooled_client("PSK-AES128-CCM-8"); }
static void pooled_client_gcm(void **state) { (void)state; pooled_client("PSK-AES128-GCM-SHA256"); }
static void pooled_client_cbc(void **state) { (void)state; pooled_client("PSK-AES128-CBC-SHA256"); }

int main(void)
{
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	wolfSSL_Init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pooled_client_ccm8),
		cmocka_unit_test(pooled_client_gcm),
		cmocka_unit_test(pooled_client_cbc),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	wolfSSL_Cleanup();
	return rc;
}
