/* The pooled wolfSSL object (dataplane/dtls/dtls.c) against real wolfSSL clients, in memory: the
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
#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls.h"
#include "emse/dtls/dtls_peek.h"
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
	assert_int_equal(emse_dtls_write(s->u.hs.ssl, data, len), 0);
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
	static struct emse_hs_extra x;
	memset(&s, 0, sizeof(s));
	memset(&x, 0, sizeof(x));
	s.u.hs.x = &x;
	s.u.hs.ssl = emse_dtls_pool_get(p, &s, secret, EMSE_COOKIE_SECRET_LEN, peer, sizeof(peer));
	assert_non_null(s.u.hs.ssl);
	int err = 0;
	enum emse_dtls_rc rc = emse_dtls_handshake(s.u.hs.ssl, &s, dg, n, &err);
	assert_int_equal(rc, EMSE_DTLS_WANT);

	/* Flight 3: the identity is peeked, the key attached, then the datagrams fed. */
	assert_int_equal(wm_step(c, 0), 0);
	while ((n = wm_pop(&to_server, dg, sizeof(dg))) > 0) {
		const uint8_t *idp;
		uint16_t idl;
		if (!s.u.hs.have_key && dtls_peek_psk_identity(dg, n, &idp, &idl) == DTLS_PEEK_OK) {
			assert_int_equal(e2m_identity_parse(idp, idl, &x.id), E2M_ID_OK);
			memcpy(x.key, key, 32);
			s.u.hs.have_key = 1;
		}
		uint32_t drops = emse_dtls_mac_drops(s.u.hs.ssl);
		rc = emse_dtls_handshake(s.u.hs.ssl, &s, dg, n, &err);
		if (rc == EMSE_DTLS_WANT && emse_dtls_mac_drops(s.u.hs.ssl) != drops) {
			emse_dtls_alert_bad_mac(s.u.hs.ssl);
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
		assert_int_equal(emse_dtls_read(s.u.hs.ssl, &s, dg, n, buf, sizeof(buf), echo, echoed,
						&err), EMSE_DTLS_WANT);
		char back[8] = "";
		assert_int_equal(wolfSSL_read(c, back, sizeof(back)), 4);
		assert_memory_equal(back, "ping", 4);
	} else {
		/* The client must have been told: it fails on the alert. */
		assert_int_equal(wm_step(c, 0), -1);
	}
	emse_dtls_pool_put(p, s.u.hs.ssl, rc != EMSE_DTLS_DONE, 0);
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

/* A ClientHello as GnuTLS sends it on a first handshake: with an empty renegotiation_info
 * extension (RFC 5746). Built by hand: only the server's first answer matters here. */
static size_t reneg_client_hello(uint8_t *out, uint16_t seq, const uint8_t *cookie, uint8_t clen,
				 const uint8_t random[32])
{
	static const uint8_t suites[] = { 0xc0, 0xa8, 0x00, 0xa8 };
	static const uint8_t ext[] = { 0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00 };
	uint8_t *b = out + 25;
	size_t n = 0;
	b[n++] = 0xfe, b[n++] = 0xfd;
	memcpy(b + n, random, 32), n += 32;
	b[n++] = 0;
	b[n++] = clen;
	if (clen)
		memcpy(b + n, cookie, clen);
	n += clen;
	b[n++] = 0, b[n++] = sizeof(suites);
	memcpy(b + n, suites, sizeof(suites)), n += sizeof(suites);
	b[n++] = 1, b[n++] = 0;
	memcpy(b + n, ext, sizeof(ext)), n += sizeof(ext);
	uint8_t *h = out + 13;
	h[0] = 1, h[1] = 0, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
	h[4] = 0, h[5] = (uint8_t)seq, h[6] = h[7] = h[8] = 0;
	h[9] = 0, h[10] = (uint8_t)(n >> 8), h[11] = (uint8_t)n;
	out[0] = 22, out[1] = 0xfe, out[2] = 0xff;
	memset(out + 3, 0, 8);
	out[10] = (uint8_t)seq;
	out[11] = (uint8_t)((n + 12) >> 8), out[12] = (uint8_t)(n + 12);
	return 25 + n;
}

/* wolfSSL 5.7.2's wolfSSL_clear left ssl->secure_renegotiation dangling (freed with the
 * extensions): the next renegotiation_info ClientHello on a reused object read freed memory and
 * was refused (SECURE_RENEGOTIATION_E) or crashed. tools/build-wolfssl.sh fixes it; this is the
 * proof, on one object reused 50 times. */
static void test_reused_object_accepts_renegotiation_info(void **state)
{
	(void)state;
	WOLFSSL_CTX *sctx = emse_dtls_ctx_new(EMSE_SUITE_CCM8 | EMSE_SUITE_GCM, "");
	struct emse_dtls_pool p;
	assert_int_equal(emse_dtls_pool_init(&p, sctx, 1, NULL, send_to_client), 0);
	struct emse_cookie_keys ck;
	assert_int_equal(emse_cookie_init(&ck, 0), 0);
	for (int i = 0; i < 50; i++) {
		uint8_t random[32], ch[256], hvr[EMSE_HVR_MAX], dg[WM_DG_SIZE];
		memset(random, i + 1, sizeof(random));
		memset(&to_client, 0, sizeof(to_client));
		struct dtls_client_hello pch;
		size_t n = reneg_client_hello(ch, 0, NULL, 0, random);
		assert_int_equal(dtls_parse_client_hello(ch, n, &pch), DTLS_PEEK_OK);
		emse_cookie_build_hvr(ck.cur, peer, sizeof(peer), &pch, hvr);
		n = reneg_client_hello(ch, 1, hvr + 28, EMSE_COOKIE_LEN, random);
		assert_int_equal(dtls_parse_client_hello(ch, n, &pch), DTLS_PEEK_OK);
		const uint8_t *secret = emse_cookie_verify(&ck, peer, sizeof(peer), &pch);
		assert_non_null(secret);
		static struct emse_session s;
		static struct emse_hs_extra x;
		memset(&s, 0, sizeof(s));
		memset(&x, 0, sizeof(x));
		s.u.hs.x = &x;
		s.u.hs.ssl = emse_dtls_pool_get(&p, &s, secret, EMSE_COOKIE_SECRET_LEN, peer, sizeof(peer));
		assert_non_null(s.u.hs.ssl);
		int err = 0;
		assert_int_equal(emse_dtls_handshake(s.u.hs.ssl, &s, ch, n, &err), EMSE_DTLS_WANT);
		size_t got = wm_pop(&to_client, dg, sizeof(dg));
		assert_true(got > 25);
		assert_int_equal(dg[0], 22); /* a handshake record, not an alert */
		assert_int_equal(dg[13], 2); /* ServerHello */
		emse_dtls_pool_put(&p, s.u.hs.ssl, 0, 0);
	}
	assert_int_equal(p.reused, 50);
	emse_dtls_pool_fini(&p);
	emse_dtls_ctx_free(sctx);
	emse_cookie_wipe(&ck);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pooled_object_reused_for_many_handshakes),
		cmocka_unit_test(test_wrong_key_fails_with_alert),
		cmocka_unit_test(test_reused_object_accepts_renegotiation_info),
	};
	return cmocka_run_group_tests(tests, NULL, wm_done);
}
