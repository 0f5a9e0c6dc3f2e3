/* The pooled wolfSSL object (dataplane/dtls.c) against real wolfSSL clients, in memory: the
 * clear + import reset of WOLFSSL-NOTES.md leans on wolfSSL internals, so this proves it: one
 * object runs hundreds of complete handshakes (cookie, PSK, echo) and is never re-created; a
 * wrong key is detected by the MAC-drop check and answered with an alert. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wolfmem.h"
#include "emse/config.h"
#include "emse/cookie.h"
#include "emse/dtls.h"
#include "emse/dtls_peek.h"
#include "emse/session.h"

static struct wm_queue to_client, to_server;
static struct wm_end client_end = { &to_client, &to_server };

static int send_to_client(void *worker, struct emse_session *s, const uint8_t *d, size_t n)
{
	(void)worker, (void)s;
	wm_push(&to_client, d, n);
	return 0;
}

static void echo(void *arg, struct emse_session *s, uint8_t *data, size_t len)
{
	int *count = arg;
	(*count)++;
	assert_int_equal(emse_dtls_write(s->ssl, data, len), 0);
}

static const uint8_t peer[19] = { 4, 0x16, 0x34, 198, 18, 0, 2 };

/* Runs one handshake of a fresh wolfSSL client against a pooled object. Returns the final
 * server result; key decides whether the server holds the client's key. */
static enum emse_dtls_rc one_handshake(struct emse_dtls_pool *p, struct emse_cookie_keys *ck,
				       WOLFSSL_CTX *cctx, const uint8_t key[32], int *echoed)
{
	uint8_t dg[WM_DG_SIZE];
	size_t n;
	memset(&to_client, 0, sizeof(to_client));
	memset(&to_server, 0, sizeof(to_server));
	WOLFSSL *c = wm_new(cctx, &client_end);
	assert_non_null(c);

	/* ClientHello without cookie: answered statelessly. */
	assert_int_equal(wm_step(c, 0), 0);
	n = wm_pop(&to_server, dg, sizeof(dg));
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(dg, n, &ch), DTLS_PEEK_OK);
	uint8_t hvr[EMSE_HVR_MAX];
	size_t hl = emse_cookie_build_hvr(ck->cur, peer, sizeof(peer), &ch, hvr);
	wm_push(&to_client, hvr, hl);

	/* ClientHello with cookie: a pooled object takes over. */
	assert_int_equal(wm_step(c, 0), 0);
	n = wm_pop(&to_server, dg, sizeof(dg));
	assert_int_equal(dtls_parse_client_hello(dg, n, &ch), DTLS_PEEK_OK);
	const uint8_t *secret = emse_cookie_verify(ck, peer, sizeof(peer), &ch);
	assert_non_null(secret);
	static struct emse_session s;
	memset(&s, 0, sizeof(s));
	s.ssl = emse_dtls_pool_get(p, &s, secret, EMSE_COOKIE_SECRET_LEN, peer, sizeof(peer));
	assert_non_null(s.ssl);
	int err = 0;
	enum emse_dtls_rc rc = emse_dtls_handshake(s.ssl, &s, dg, n, &err);
	assert_int_equal(rc, EMSE_DTLS_WANT);

	/* Flight 3: the identity is peeked, the key attached, then the datagrams fed. */
	assert_int_equal(wm_step(c, 0), 0);
	while ((n = wm_pop(&to_server, dg, sizeof(dg))) > 0) {
		const uint8_t *idp;
		uint16_t idl;
		if (!s.have_key && dtls_peek_psk_identity(dg, n, &idp, &idl) == DTLS_PEEK_OK) {
			assert_int_equal(e2m_identity_parse(idp, idl, &s.id), E2M_ID_OK);
			memcpy(s.key, key, 32);
			s.have_key = 1;
		}
		uint32_t drops = emse_dtls_mac_drops(s.ssl);
		rc = emse_dtls_handshake(s.ssl, &s, dg, n, &err);
		if (rc == EMSE_DTLS_WANT && emse_dtls_mac_drops(s.ssl) != drops) {
			emse_dtls_alert_bad_mac(s.ssl);
			rc = EMSE_DTLS_FATAL;
			break;
		}
		if (rc != EMSE_DTLS_WANT)
			break;
	}
	if (rc == EMSE_DTLS_DONE) {
		assert_int_equal(wm_step(c, 0), 1);
		assert_int_equal(wolfSSL_write(c, "ping", 4), 4);
		n = wm_pop(&to_server, dg, sizeof(dg));
		uint8_t buf[256];
		assert_int_equal(emse_dtls_read(s.ssl, &s, dg, n, buf, sizeof(buf), echo, echoed,
						&err), EMSE_DTLS_WANT);
		char back[8] = "";
		assert_int_equal(wolfSSL_read(c, back, sizeof(back)), 4);
		assert_memory_equal(back, "ping", 4);
	} else {
		/* The client must have been told: it fails on the alert. */
		assert_int_equal(wm_step(c, 0), -1);
	}
	emse_dtls_pool_put(p, s.ssl, rc != EMSE_DTLS_DONE);
	wolfSSL_free(c);
	return rc;
}

static void test_pooled_object_reused_for_many_handshakes(void **state)
{
	(void)state;
	WOLFSSL_CTX *cctx = wm_ctx(0);
	WOLFSSL_CTX *sctx = emse_dtls_ctx_new(EMSE_SUITE_CCM8 | EMSE_SUITE_GCM | EMSE_SUITE_CBC, "");
	assert_non_null(sctx);
	struct emse_dtls_pool p;
	assert_int_equal(emse_dtls_pool_init(&p, sctx, 1, NULL, send_to_client), 0);
	struct emse_cookie_keys ck;
	assert_int_equal(emse_cookie_init(&ck, 0), 0);
	uint64_t created = p.created;
	int echoed = 0;
	for (int i = 0; i < 300; i++) {
		if (i == 150)
			emse_cookie_rotate(&ck, 1);
		assert_int_equal(one_handshake(&p, &ck, cctx, wm_psk, &echoed), EMSE_DTLS_DONE);
	}
	assert_int_equal(echoed, 300);
	assert_int_equal(p.created, created); /* never a wolfSSL_new after start */
	assert_int_equal(p.reused, 300);
	emse_dtls_pool_fini(&p);
	emse_dtls_ctx_free(sctx);
	wolfSSL_CTX_free(cctx);
	emse_cookie_wipe(&ck);
}

static void test_wrong_key_fails_with_alert(void **state)
{
	(void)state;
	WOLFSSL_CTX *cctx = wm_ctx(0);
	WOLFSSL_CTX *sctx = emse_dtls_ctx_new(EMSE_SUITE_CCM8, "e2m");
	struct emse_dtls_pool p;
	assert_int_equal(emse_dtls_pool_init(&p, sctx, 1, NULL, send_to_client), 0);
	struct emse_cookie_keys ck;
	assert_int_equal(emse_cookie_init(&ck, 0), 0);
	uint8_t wrong[32];
	memcpy(wrong, wm_psk, 32);
	wrong[0] ^= 1;
	int echoed = 0;
	assert_int_equal(one_handshake(&p, &ck, cctx, wrong, &echoed), EMSE_DTLS_FATAL);
	assert_int_equal(p.discarded, 1); /* after a fatal error the object is freed, not reused */
	/* and the pool recovers outside the packet path */
	assert_int_equal(emse_dtls_pool_refill(&p, 4), 1);
	assert_int_equal(one_handshake(&p, &ck, cctx, wm_psk, &echoed), EMSE_DTLS_DONE);
	emse_dtls_pool_fini(&p);
	emse_dtls_ctx_free(sctx);
	wolfSSL_CTX_free(cctx);
	emse_cookie_wipe(&ck);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pooled_object_reused_for_many_handshakes),
		cmocka_unit_test(test_wrong_key_fails_with_alert),
	};
	return cmocka_run_group_tests(tests, NULL, wm_done);
}
