/* dataplane/dtls/hs12.c against a real wolfSSL 5.7.2 DTLS 1.2 PSK client (in-memory datagrams,
 * wolfmem.h): the client must complete its handshake with our engine and exchange records with
 * the compact session it ends in, for CCM-8 and GCM, with and without extended master secret; our
 * flight 2 is resent when the client repeats its ClientHello; a wrong PSK ends in bad_record_mac
 * at the client; ClientHellos the engine must leave to wolfSSL are recognised. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wolfmem.h"
#include "malloc_count.h"
#include "emse/config.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/hs12.h"
#include "hello.h"

static const uint8_t peer[19] = {4, 198, 19, 0, 7, 0x16, 0x34};

struct srv {
	struct wm_queue c2s, s2c;
	struct wm_end ce;
	WOLFSSL_CTX *cctx;
	WOLFSSL *cl;
	struct emse_cookie_keys ck;
	struct emse_record_ctx rc;
	struct emse_hs12 h;
	int started, done, fatal;
	enum emse_hs_fail why;
	uint8_t psk[32];
	uint32_t suites;
	const char *hint;
	int resends, hvrs;
	int drop_next_flight2; /* lose our flight 2 once */
	enum emse_hs12_skip skip;
	struct emse_hs12_hello hello;
	/* session resumption: our session id (sid_on), and a cached master secret to resume with
	 * when the ClientHello names sid (resume_ms) */
	int sid_on, resumed;
	uint8_t sid[32];
	const uint8_t *resume_ms;
};

static char seen_hint[64];
static unsigned int psk_client_hint(WOLFSSL *ssl, const char *hint, char *identity,
				    unsigned int id_max, unsigned char *key, unsigned int key_max)
{
	snprintf(seen_hint, sizeof(seen_hint), "%s", hint ? hint : "");
	return wm_psk_client(ssl, hint, identity, id_max, key, key_max);
}

static struct srv *srv_new(const char *client_suites)
{
	struct srv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->ce = (struct wm_end){&s->s2c, &s->c2s};
	s->cctx = wm_ctx(0);
	assert_non_null(s->cctx);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(s->cctx, client_suites), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_psk_client_callback(s->cctx, psk_client_hint);
	s->cl = wm_new(s->cctx, &s->ce);
	assert_non_null(s->cl);
	assert_int_equal(emse_cookie_init(&s->ck, 0), 0);
	assert_int_equal(emse_record_ctx_init(&s->rc, 8), 0);
	memcpy(s->psk, wm_psk, sizeof(s->psk));
	s->suites = EMSE_SUITE_CCM8 | EMSE_SUITE_GCM | EMSE_SUITE_CBC;
	s->hint = "";
	return s;
}

static void srv_free(struct srv *s)
{
	emse_hs12_wipe(&s->h);
	emse_record_ctx_fini(&s->rc);
	wolfSSL_free(s->cl);
	wolfSSL_CTX_free(s->cctx);
	free(s);
}

static void push_out(struct srv *s, const uint8_t *p, size_t n)
{
	wm_push(&s->s2c, p, n);
}

static void srv_datagram_(struct srv *s, const uint8_t *dg, size_t n);

/* The server side of one datagram from the client, as the worker does it; the allocator calls it
 * makes are counted (the client's are not). */
static void srv_datagram(struct srv *s, const uint8_t *dg, size_t n)
{
	counting = 1;
	srv_datagram_(s, dg, n);
	counting = 0;
}

static void srv_datagram_(struct srv *s, const uint8_t *dg, size_t n)
{
	if (!s->started) {
		struct dtls_client_hello ch;
		assert_int_equal(dtls_parse_client_hello(dg, n, &ch), DTLS_PEEK_OK);
		if (!ch.cookie_len || !emse_cookie_verify(&s->ck, peer, sizeof(peer), &ch)) {
			uint8_t hvr[EMSE_HVR_MAX];
			push_out(s, hvr, emse_cookie_build_hvr(s->ck.cur, peer, sizeof(peer), &ch, hvr));
			s->hvrs++;
			return;
		}
		s->skip = emse_hs12_parse_hello(&ch, s->suites, &s->hello);
		if (s->skip != EMSE_HS12_OK) {
			s->fatal = 1;
			return;
		}
		if (s->resume_ms && ch.session_id_len == 32 && !memcmp(ch.session_id, s->sid, 32)) {
			assert_int_equal(emse_hs12_resume(&s->h, &s->rc, &s->hello, s->sid,
							  s->resume_ms, NULL, 0), 0);
			s->resumed = 1;
		} else {
			assert_int_equal(emse_hs12_start_sid(&s->h, &s->hello, s->hint,
							     s->sid_on ? s->sid : NULL), 0);
		}
		s->started = 1;
		if (s->drop_next_flight2) {
			s->drop_next_flight2 = 0;
			return;
		}
		push_out(s, s->h.flight, s->h.flight_len);
		return;
	}
	if (s->done) {
		/* established: what the worker's compact session does (record.c) */
		uint8_t out[WM_DG_SIZE], type;
		size_t used, pl;
		enum emse_rec_drop why;
		enum emse_rec_rc r = emse_record_open(&s->rc, &s->h.rec, dg, n, &used, out, &pl,
						      &type, &why);
		if (r == EMSE_REC_DATA) { /* echo */
			uint8_t rec[WM_DG_SIZE];
			size_t rl;
			assert_int_equal(emse_record_seal(&s->rc, &s->h.rec, EMSE_REC_CT_APP, out, pl,
							  rec, sizeof(rec), &rl), 0);
			push_out(s, rec, rl);
		}
		return;
	}
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t on;
	switch (emse_hs12_input(&s->h, &s->rc, s->psk, sizeof(s->psk), dg, n, out, &on, &s->why)) {
	case EMSE_HS12_WANT:
		break;
	case EMSE_HS12_RESEND: {
		size_t fl;
		const uint8_t *f = emse_hs12_flight(&s->h, &fl);
		push_out(s, f, fl);
		s->resends++;
		break;
	}
	case EMSE_HS12_DONE:
		if (on) /* nothing after an abbreviated handshake: the client's Finished was last */
			push_out(s, out, on);
		s->done = 1;
		break;
	case EMSE_HS12_FATAL:
		if (on)
			push_out(s, out, on);
		s->fatal = 1;
		break;
	}
}

/* Runs client and server until the client is done or fails; returns the client's last step. */
static int run(struct srv *s)
{
	int c = 0;
	for (int i = 0; i < 20 && c == 0 && !s->fatal; i++) {
		c = wm_step(s->cl, 0);
		uint8_t dg[WM_DG_SIZE];
		size_t n;
		while ((n = wm_pop(&s->c2s, dg, sizeof(dg))) > 0)
			srv_datagram(s, dg, n);
	}
	if (c == 0 && s->fatal) /* let the client read our alert */
		c = wm_step(s->cl, 0);
	return c;
}

/* The client writes msg; our compact session echoes it; the client must read it back. */
static void echo(struct srv *s, const char *msg)
{
	uint8_t dg[WM_DG_SIZE];
	char back[256];
	assert_int_equal(wolfSSL_write(s->cl, msg, (int)strlen(msg)), (int)strlen(msg));
	size_t n = wm_pop(&s->c2s, dg, sizeof(dg));
	assert_true(n > 0);
	uint64_t opened = s->rc.st.opened;
	srv_datagram(s, dg, n);
	assert_int_equal(s->rc.st.opened, opened + 1);
	int r = wolfSSL_read(s->cl, back, sizeof(back));
	assert_int_equal(r, (int)strlen(msg));
	assert_memory_equal(back, msg, strlen(msg));
}

static void full(const char *suite, uint8_t cipher, const uint8_t id[2], int ems)
{
	struct srv *s = srv_new(suite);
	if (!ems)
		assert_int_equal(wolfSSL_DisableExtendedMasterSecret(s->cl), WOLFSSL_SUCCESS);
	assert_int_equal(run(s), 1);
	assert_true(s->done);
	assert_int_equal(s->hvrs, 1);
	assert_int_equal(s->hello.ems, ems);
	assert_int_equal(s->h.rec.cipher, cipher);
	assert_memory_equal(s->h.rec.suite, id, 2);
	assert_int_equal(s->h.rec.flags & EMSE_REC_F_HANDSHAKE, 0);
	assert_int_equal(s->h.rec.wseq, 1); /* our Finished was record 0 of epoch 1 */
	assert_string_equal(wolfSSL_get_cipher_name(s->cl), suite);
	echo(s, "hello over a native handshake");
	echo(s, "and a second record");
	srv_free(s);
}

static void test_ccm8(void **state)
{
	(void)state;
	full("PSK-AES128-CCM-8", EMSE_REC_AES128_CCM8, (const uint8_t[]){0xc0, 0xa8}, 1);
}

static void test_gcm(void **state)
{
	(void)state;
	full("PSK-AES128-GCM-SHA256", EMSE_REC_AES128_GCM, (const uint8_t[]){0x00, 0xa8}, 1);
}

static void test_no_ems(void **state)
{
	(void)state;
	full("PSK-AES128-CCM-8", EMSE_REC_AES128_CCM8, (const uint8_t[]){0xc0, 0xa8}, 0);
	full("PSK-AES128-GCM-SHA256", EMSE_REC_AES128_GCM, (const uint8_t[]){0x00, 0xa8}, 0);
}

/* The worker copies the finished handshake's record state into the session: the key-cache slot
 * the handshake used follows it (no second expansion, and wiping the session wipes the slot). */
static void test_key_slot_follows_the_session(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-GCM-SHA256");
	assert_int_equal(run(s), 1);
	struct emse_record_state sess = s->h.rec;
	emse_record_moved(&s->rc, &s->h.rec, &sess);
	emse_hs12_wipe(&s->h);
	uint64_t expanded = s->rc.st.keys_expanded;
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE], type;
	size_t used, pl;
	enum emse_rec_drop why;
	assert_int_equal(wolfSSL_write(s->cl, "moved", 5), 5);
	size_t n = wm_pop(&s->c2s, dg, sizeof(dg));
	assert_int_equal(emse_record_open(&s->rc, &sess, dg, n, &used, out, &pl, &type, &why),
			 EMSE_REC_DATA);
	assert_memory_equal(out, "moved", 5);
	assert_int_equal(s->rc.st.keys_expanded, expanded); /* the handshake's slot, found */
	/* a copy that was not moved has to expand its own */
	struct emse_record_state other = sess;
	uint8_t rec[64];
	size_t rl;
	assert_int_equal(emse_record_seal(&s->rc, &other, EMSE_REC_CT_APP, (const uint8_t *)"x", 1,
					  rec, sizeof(rec), &rl), 0);
	assert_int_equal(s->rc.st.keys_expanded, expanded + 1);
	emse_record_wipe(&s->rc, &other);
	emse_record_wipe(&s->rc, &sess);
	srv_free(s);
}

/* Server preference as wolfSSL's list: CCM-8 before GCM whatever the client's order. */
static void test_server_preference(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-GCM-SHA256:PSK-AES128-CCM-8");
	assert_int_equal(run(s), 1);
	assert_int_equal(s->h.rec.cipher, EMSE_REC_AES128_CCM8);
	srv_free(s);
	s = srv_new("PSK-AES128-GCM-SHA256:PSK-AES128-CCM-8");
	s->suites = EMSE_SUITE_GCM;
	assert_int_equal(run(s), 1);
	assert_int_equal(s->h.rec.cipher, EMSE_REC_AES128_GCM);
	srv_free(s);
}

static void test_hint(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CCM-8");
	s->hint = "e2m";
	seen_hint[0] = 0;
	assert_int_equal(run(s), 1);
	assert_string_equal(seen_hint, "e2m");
	echo(s, "with a hint");
	srv_free(s);
}

/* Our flight 2 is lost: the client's timer repeats ClientHello 2, we resend (with new record
 * sequence numbers) and the handshake completes. */
static void test_flight2_lost(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CCM-8");
	s->drop_next_flight2 = 1;
	assert_int_equal(run(s), 0);
	assert_true(s->started);
	assert_false(s->done);
	uint64_t seq_before = s->h.tx_seq;
	assert_int_equal(wolfSSL_dtls_got_timeout(s->cl), WOLFSSL_SUCCESS);
	assert_int_equal(run(s), 1);
	assert_int_equal(s->resends, 1);
	assert_true(s->h.tx_seq > seq_before);
	echo(s, "after a lost flight");
	srv_free(s);
}

/* The per-packet path allocates nothing: cookie gate, hs12.c and the compact session's records,
 * over whole handshakes after a first one (which creates the thread's RNG context). */
static void test_no_heap_on_the_server_side(void **state)
{
	(void)state;
	if (!MALLOC_COUNT_AVAILABLE)
		skip();
	struct srv *s = srv_new("PSK-AES128-CCM-8");
	assert_int_equal(run(s), 1);
	srv_free(s);
	/* the counter itself works */
	counting = 1;
	void *volatile probe = malloc(16);
	free(probe);
	counting = 0;
	assert_int_equal(n_alloc, 2);
	for (int i = 0; i < 3; i++) {
		s = srv_new(i & 1 ? "PSK-AES128-GCM-SHA256" : "PSK-AES128-CCM-8");
		n_alloc = 0;
		assert_int_equal(run(s), 1);
		echo(s, "no allocator here");
		assert_int_equal(n_alloc, 0);
		srv_free(s);
	}
}

/* The client holds another PSK: its Finished does not open; it gets bad_record_mac. */
static void test_wrong_key(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-GCM-SHA256");
	s->psk[0] ^= 1;
	assert_int_equal(run(s), -1);
	assert_true(s->fatal);
	assert_int_equal(s->why, EMSE_HS_FAIL_BAD_FINISHED);
	WOLFSSL_ALERT_HISTORY hist;
	assert_int_equal(wolfSSL_get_alert_history(s->cl, &hist), WOLFSSL_SUCCESS);
	assert_int_equal(hist.last_rx.code, 20); /* bad_record_mac */
	assert_int_equal(hist.last_rx.level, 2);
	srv_free(s);
}

/* A CBC-only client, or CBC preferred by configuration: wolfSSL's job. */
static void test_cbc_skipped(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CBC-SHA256");
	run(s);
	assert_int_equal(s->skip, EMSE_HS12_SKIP_SUITE);
	srv_free(s);
	s = srv_new(WM_SUITES);
	s->suites = EMSE_SUITE_CBC;
	run(s);
	assert_int_equal(s->skip, EMSE_HS12_SKIP_SUITE);
	srv_free(s);
}

/* A client that offers DTLS 1.3 (supported_versions) goes to wolfSSL. */
static void test_dtls13_skipped(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CCM-8");
	WOLFSSL_CTX *c13 = wolfSSL_CTX_new(wolfDTLS_client_method());
	assert_non_null(c13);
	wolfSSL_CTX_set_psk_client_callback(c13, wm_psk_client);
	wolfSSL_CTX_SetIORecv(c13, wm_recv);
	wolfSSL_CTX_SetIOSend(c13, wm_send);
	WOLFSSL *cl = wm_new(c13, &s->ce);
	assert_non_null(cl);
	wolfSSL_free(s->cl);
	s->cl = cl;
	run(s);
	assert_int_equal(s->skip, EMSE_HS12_SKIP_VERSION);
	wolfSSL_free(s->cl);
	s->cl = NULL;
	wolfSSL_CTX_free(c13);
	srv_free(s);
}

/* -1: refused already by the ClientHello parser in front of both engines. */
static int classify(const uint8_t *ext, size_t elen, int with_block)
{
	uint8_t b[256];
	struct dtls_client_hello ch;
	struct emse_hs12_hello h;
	size_t n = make_ch(b, ext, elen, with_block);
	if (dtls_parse_client_hello(b, n, &ch) != DTLS_PEEK_OK)
		return -1;
	return (int)emse_hs12_parse_hello(&ch, EMSE_SUITE_CCM8 | EMSE_SUITE_GCM, &h);
}

static void test_hello_extensions(void **state)
{
	(void)state;
	assert_int_equal(classify(NULL, 0, 0), EMSE_HS12_OK);
	assert_int_equal(classify(NULL, 0, 1), -1); /* an empty block: wolfSSL refuses it too */
	const uint8_t ems[] = {0x00, 0x17, 0x00, 0x00};
	assert_int_equal(classify(ems, sizeof(ems), 1), EMSE_HS12_OK);
	const uint8_t ems2[] = {0x00, 0x17, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00};
	assert_int_equal(classify(ems2, sizeof(ems2), 1), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t ems_body[] = {0x00, 0x17, 0x00, 0x01, 0x00};
	assert_int_equal(classify(ems_body, sizeof(ems_body), 1), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t ri_empty[] = {0xff, 0x01, 0x00, 0x01, 0x00};
	assert_int_equal(classify(ri_empty, sizeof(ri_empty), 1), EMSE_HS12_OK);
	const uint8_t ri_reneg[] = {0xff, 0x01, 0x00, 0x02, 0x01, 0x77};
	assert_int_equal(classify(ri_reneg, sizeof(ri_reneg), 1), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t cut[] = {0x00, 0x0a, 0x00, 0x09, 0x00};
	assert_int_equal(classify(cut, sizeof(cut), 1), -1);
	const uint8_t sv13[] = {0x00, 0x2b, 0x00, 0x05, 0x04, 0xfe, 0xfc, 0xfe, 0xfd};
	assert_int_equal(classify(sv13, sizeof(sv13), 1), EMSE_HS12_SKIP_VERSION);
	const uint8_t sv12[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0xfe, 0xfd};
	assert_int_equal(classify(sv12, sizeof(sv12), 1), EMSE_HS12_OK);
	const uint8_t sv_bad[] = {0x00, 0x2b, 0x00, 0x03, 0x03, 0xfe, 0xfd};
	assert_int_equal(classify(sv_bad, sizeof(sv_bad), 1), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t unknown[] = {0x12, 0x34, 0x00, 0x02, 0xab, 0xcd};
	assert_int_equal(classify(unknown, sizeof(unknown), 1), EMSE_HS12_OK);
}

/* What a client cannot make the engine do: records out of order or garbage are ignored, a repeated
 * ClientKeyExchange after the first is not processed again, the PRF matches RFC 5246's
 * construction on a known answer. */
static void test_garbage_ignored(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CCM-8");
	assert_int_equal(wm_step(s->cl, 0), 0); /* ClientHello 1 */
	uint8_t dg[WM_DG_SIZE];
	size_t n = wm_pop(&s->c2s, dg, sizeof(dg));
	srv_datagram(s, dg, n);
	assert_int_equal(wm_step(s->cl, 0), 0); /* ClientHello 2 */
	n = wm_pop(&s->c2s, dg, sizeof(dg));
	srv_datagram(s, dg, n);
	assert_true(s->started);
	/* a Finished-looking epoch 1 record before any key: ignored */
	uint8_t junk[40] = {22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 27};
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t on;
	enum emse_hs_fail why;
	assert_int_equal(emse_hs12_input(&s->h, &s->rc, s->psk, 32, junk, sizeof(junk), out, &on,
					 &why), EMSE_HS12_WANT);
	assert_int_equal(on, 0);
	/* truncated record header, then random bytes */
	assert_int_equal(emse_hs12_input(&s->h, &s->rc, s->psk, 32, junk, 7, out, &on, &why),
			 EMSE_HS12_WANT);
	assert_int_equal(s->h.phase, EMSE_HS12_WAIT_CKE);
	/* the real flight still completes */
	assert_int_equal(run(s), 1);
	echo(s, "still fine");
	srv_free(s);
}

/* RFC 5246 PRF, P_SHA256: a published test vector (the IETF TLS WG list's, widely used). */
static void test_prf_vector(void **state)
{
	(void)state;
	static const uint8_t secret[16] = {0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17,
					   0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71, 0xdb, 0x35};
	static const uint8_t seed[16] = {0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18,
					 0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5, 0x19, 0x8c};
	static const uint8_t expect[16] = {0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b,
					   0x8d, 0x12, 0x26, 0x20, 0x55, 0x7c, 0xd4, 0x53};
	uint8_t out[100];
	assert_int_equal(emse_tls12_prf(secret, sizeof(secret), "test label", seed, 8, seed + 8, 8,
					out, sizeof(out)), 0);
	assert_memory_equal(out, expect, sizeof(expect));
}

/* RFC 5246 7.3 against the wolfSSL client: a full handshake with our session id, the client keeps
 * the session; a second client offers it and completes an abbreviated handshake with the master
 * secret the first one left in h.ms (what the worker caches), with no PSK given to the engine;
 * records then flow. With another master secret the client refuses our Finished. */
static void resumption(const char *suite, int ems)
{
	struct srv *s = srv_new(suite);
	if (!ems)
		assert_int_equal(wolfSSL_DisableExtendedMasterSecret(s->cl), WOLFSSL_SUCCESS);
	s->sid_on = 1;
	memset(s->sid, 0x5a, sizeof(s->sid));
	s->sid[0] = 1;
	assert_int_equal(run(s), 1);
	assert_true(s->done && !s->resumed);
	assert_int_equal(s->h.sid_len, 32);
	uint8_t ms[48], zero[48] = {0};
	memcpy(ms, s->h.ms, sizeof(ms));
	assert_memory_not_equal(ms, zero, sizeof(ms)); /* kept for the cache */
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(s->cl);
	assert_non_null(sess);
	for (int wrong = 0; wrong < 2; wrong++) {
		struct srv *r = srv_new(suite);
		if (!ems)
			assert_int_equal(wolfSSL_DisableExtendedMasterSecret(r->cl), WOLFSSL_SUCCESS);
		memcpy(r->sid, s->sid, sizeof(r->sid));
		uint8_t other[48];
		memcpy(other, ms, sizeof(other));
		other[7] ^= (uint8_t)wrong;
		r->resume_ms = other;
		memset(r->psk, 0, sizeof(r->psk)); /* the engine must not need it */
		assert_int_equal(wolfSSL_set_session(r->cl, sess), WOLFSSL_SUCCESS);
		int c = run(r);
		assert_true(r->resumed);
		assert_int_equal(r->hello.ems, ems);
		if (!wrong) {
			assert_int_equal(c, 1);
			assert_true(r->done);
			assert_int_equal(wolfSSL_session_reused(r->cl), 1);
			assert_memory_equal(r->h.rec.suite, s->h.rec.suite, 2);
			echo(r, "resumed");
			echo(r, "and again");
		} else {
			assert_int_not_equal(c, 1);
			assert_false(r->done);
		}
		srv_free(r);
	}
	wolfSSL_SESSION_free(sess);
	srv_free(s);
}

static void test_resumption_ccm8(void **state)
{
	(void)state;
	resumption("PSK-AES128-CCM8", 1);
}

static void test_resumption_gcm_no_ems(void **state)
{
	(void)state;
	resumption("PSK-AES128-GCM-SHA256", 0);
}

/* Without a session id the ServerHello's is empty (the engine as before this feature). */
static void test_no_session_id_by_default(void **state)
{
	(void)state;
	struct srv *s = srv_new("PSK-AES128-CCM8");
	assert_int_equal(run(s), 1);
	assert_int_equal(s->h.sid_len, 0);
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(s->cl);
	unsigned int n = 1;
	if (sess)
		wolfSSL_SESSION_get_id(sess, &n);
	assert_int_equal(n, 0);
	wolfSSL_SESSION_free(sess);
	srv_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ccm8),
		cmocka_unit_test(test_resumption_ccm8),
		cmocka_unit_test(test_resumption_gcm_no_ems),
		cmocka_unit_test(test_no_session_id_by_default),
		cmocka_unit_test(test_gcm),
		cmocka_unit_test(test_no_ems),
		cmocka_unit_test(test_server_preference),
		cmocka_unit_test(test_key_slot_follows_the_session),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_flight2_lost),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_no_heap_on_the_server_side),
		cmocka_unit_test(test_cbc_skipped),
		cmocka_unit_test(test_dtls13_skipped),
		cmocka_unit_test(test_hello_extensions),
		cmocka_unit_test(test_garbage_ignored),
		cmocka_unit_test(test_prf_vector),
	};
	return cmocka_run_group_tests(tests, NULL, wm_done);
}
