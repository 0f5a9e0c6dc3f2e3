/* dataplane/dtls/record.c against wolfSSL 5.7.2 itself: a real wolfSSL client finishes a DTLS 1.2 PSK
 * handshake with a wolfSSL server object (in-memory datagrams, wolfmem.h); the server's state is
 * imported and the server object FREED; from then on our code opens the client's records and the
 * client's wolfSSL_read must accept ours, for AES-128-GCM and AES-128-CCM-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wolfmem.h"
#include "emse/dtls/aesccm.h"
#include "emse/dtls/aesgcm.h"
#include "emse/dtls/record.h"

static int get_peer(WOLFSSL *ssl, char *ip, int *ip_sz, unsigned short *port, int *fam)
{
	(void)ssl;
	if (*ip_sz < 10)
		return WOLFSSL_FAILURE;
	strcpy(ip, "192.0.2.7");
	*ip_sz = 9;
	*port = 5684;
	*fam = 2;
	return WOLFSSL_SUCCESS;
}

struct pair {
	struct wm_queue c2s, s2c;
	struct wm_end ce, se;
	WOLFSSL_CTX *cctx, *sctx;
	WOLFSSL *cl, *sv;
	/* the server's last flight, as it went out */
	uint8_t flight[EMSE_FLIGHT_MAX_DG][WM_DG_SIZE];
	size_t flight_len[EMSE_FLIGHT_MAX_DG];
	unsigned n_flight;
	struct emse_record_ctx rc;
	struct emse_record_state st;
};

static int run_handshake(struct pair *p, int lose_last_flight);

/* Runs the handshake with suite forced on the client. lose_last_flight: the server's final flight
 * never reaches the client (it is still captured). Returns 0 when the server is done. */
static int handshake(struct pair *p, const char *suite, int lose_last_flight)
{
	memset(p, 0, sizeof(*p));
	p->ce = (struct wm_end){&p->s2c, &p->c2s};
	p->se = (struct wm_end){&p->c2s, &p->s2c};
	p->cctx = wm_ctx(0);
	p->sctx = wm_ctx(1);
	if (!p->cctx || !p->sctx || wolfSSL_CTX_set_cipher_list(p->cctx, suite) != WOLFSSL_SUCCESS)
		return -1;
	wolfSSL_CTX_SetIOGetPeer(p->sctx, get_peer);
	p->cl = wm_new(p->cctx, &p->ce);
	p->sv = wm_new(p->sctx, &p->se);
	if (!p->cl || !p->sv)
		return -1;
	return run_handshake(p, lose_last_flight);
}

/* Drives p->cl and p->sv until the server is done, capturing the server's last flight. */
static int run_handshake(struct pair *p, int lose_last_flight)
{
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 20 && !sdone; i++) {
		if (!cdone && (cdone = wm_step(p->cl, 0)) < 0)
			return -1;
		int before = p->s2c.nlog;
		if ((sdone = wm_step(p->sv, 1)) < 0)
			return -1;
		if (sdone) {
			for (int k = before; k < p->s2c.nlog && p->n_flight < EMSE_FLIGHT_MAX_DG; k++) {
				memcpy(p->flight[p->n_flight], p->s2c.log[k], p->s2c.log_len[k]);
				p->flight_len[p->n_flight++] = p->s2c.log_len[k];
			}
			if (lose_last_flight)
				while (p->s2c.count)
					wm_pop(&p->s2c, (uint8_t[WM_DG_SIZE]){0}, WM_DG_SIZE);
		}
	}
	if (!sdone || p->n_flight == 0)
		return -1;
	if (!lose_last_flight && wm_step(p->cl, 0) != 1)
		return -1;
	return 0;
}

/* Imports the finished server, holds its last flight and frees the server object. */
static int go_compact(struct pair *p)
{
	if (emse_record_ctx_init(&p->rc, 8) != 0 || emse_record_import(&p->st, p->sv) != 0)
		return -1;
	const uint8_t *dg[EMSE_FLIGHT_MAX_DG];
	for (unsigned i = 0; i < p->n_flight; i++)
		dg[i] = p->flight[i];
	if (emse_record_flight_hold(&p->rc, &p->st, dg, p->flight_len, p->n_flight) != 0)
		return -1;
	wolfSSL_free(p->sv);
	p->sv = NULL;
	return 0;
}

static void pair_free(struct pair *p)
{
	emse_record_wipe(&p->rc, &p->st);
	emse_record_ctx_fini(&p->rc);
	wolfSSL_free(p->cl);
	wolfSSL_free(p->sv);
	wolfSSL_CTX_free(p->cctx);
	wolfSSL_CTX_free(p->sctx);
	free(p);
}

static struct pair *compact_pair(const char *suite)
{
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, suite, 0), 0);
	assert_int_equal(go_compact(p), 0);
	return p;
}

/* The client writes msg; returns the datagram it sent. */
static size_t client_send(struct pair *p, const void *msg, size_t n, uint8_t *dg)
{
	assert_int_equal(wolfSSL_write(p->cl, msg, (int)n), (int)n);
	assert_int_equal(p->c2s.count, 1);
	return wm_pop(&p->c2s, dg, WM_DG_SIZE);
}

static enum emse_rec_rc open1(struct pair *p, const uint8_t *dg, size_t n, uint8_t *out,
			      size_t *plain, enum emse_rec_drop *why)
{
	size_t used;
	uint8_t ct;
	enum emse_rec_rc rc = emse_record_open(&p->rc, &p->st, dg, n, &used, out, plain, &ct, why);
	assert_int_equal(used, n);
	return rc;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7);
}

/* How the AEAD runs: dataplane/dtls/aesgcm.c and aesccm.c where the CPU allows (this machine does);
 * else wolfCrypt's, GCM keyed by the AES-NI schedule alone where the start-up self-test holds,
 * else through its documented set-up. The fallbacks are forced here so they stay covered. */
enum aead_path { AEAD_OWN, AEAD_WOLFCRYPT, AEAD_WOLFCRYPT_DOCUMENTED };

static void both_directions_ex(const char *suite, uint8_t cipher, enum aead_path path)
{
	struct pair *p = compact_pair(suite);
	assert_int_equal(p->rc.gcm_ni, emse_gcm_available());
	assert_int_equal(p->rc.ccm_ni, emse_ccm_available());
	if (path != AEAD_OWN)
		p->rc.gcm_ni = p->rc.ccm_ni = 0;
	if (path == AEAD_WOLFCRYPT_DOCUMENTED)
		p->rc.gcm_fast = 0;
	assert_int_equal(p->st.cipher, cipher);
	assert_null(p->sv);
	uint8_t msg[1400], dg[WM_DG_SIZE], out[WM_DG_SIZE], got[1400];
	for (unsigned i = 0; i < 300; i++) {
		size_t n = 1 + (i * 37) % 1200; /* under the client's MTU */
		fill(msg, n, i);
		/* client -> us */
		size_t dn = client_send(p, msg, n, dg);
		size_t plain;
		enum emse_rec_drop why;
		assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
		assert_int_equal(plain, n);
		assert_memory_equal(out, msg, n);
		/* us -> client */
		fill(msg, n, i + 1000);
		size_t sl;
		assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, msg, n, dg,
						  sizeof(dg), &sl), 0);
		assert_int_equal(sl, n + 13 + 8 + (cipher == EMSE_REC_AES128_GCM ? 16 : 8));
		wm_push(&p->s2c, dg, sl);
		assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), (int)n);
		assert_memory_equal(got, msg, n);
	}
	assert_int_equal(p->rc.st.opened, 300);
	assert_int_equal(p->rc.st.sealed, 300);
	for (int r = 0; r < EMSE_REC_DROP_MAX; r++)
		assert_int_equal(p->rc.st.drops[r], 0);
	/* the client's first record proved it had our Finished */
	assert_null(emse_record_flight(&p->rc, &p->st));
	pair_free(p);
}

static void both_directions(const char *suite, uint8_t cipher)
{
	both_directions_ex(suite, cipher, AEAD_OWN);
}

static void test_gcm_documented_setup(void **state)
{
	(void)state;
	both_directions_ex("PSK-AES128-GCM-SHA256", EMSE_REC_AES128_GCM, AEAD_WOLFCRYPT_DOCUMENTED);
}

static void test_gcm_wolfcrypt(void **state)
{
	(void)state;
	both_directions_ex("PSK-AES128-GCM-SHA256", EMSE_REC_AES128_GCM, AEAD_WOLFCRYPT);
}

/* A cached key is used only by the code it was expanded for: switching between ours and
 * wolfCrypt's with the session hot in the cache re-keys the slot (bench-record does switch). */
static void key_cache_follows_switch(const char *suite)
{
	struct pair *p = compact_pair(suite);
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE], got[64];
	int prev = -1;
	for (unsigned i = 0; i < 6; i++) {
		int ours = (int)(i % 2) && emse_gcm_available() && emse_ccm_available();
		p->rc.gcm_ni = p->rc.ccm_ni = ours;
		uint64_t expanded = p->rc.st.keys_expanded;
		size_t plain, sl;
		enum emse_rec_drop why;
		size_t dn = client_send(p, "switch", 6, dg);
		assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
		assert_memory_equal(out, "switch", 6);
		assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, out, plain, dg,
						  sizeof(dg), &sl), 0);
		wm_push(&p->s2c, dg, sl);
		assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), 6);
		assert_memory_equal(got, "switch", 6);
		/* one expansion per switch (the first record keys the slot too) */
		assert_int_equal(p->rc.st.keys_expanded, expanded + (ours != prev));
		prev = ours;
	}
	pair_free(p);
}

static void test_key_cache_follows_switch(void **state)
{
	(void)state;
	key_cache_follows_switch("PSK-AES128-GCM-SHA256");
	key_cache_follows_switch("PSK-AES128-CCM-8");
}

static void test_ccm8_wolfcrypt(void **state)
{
	(void)state;
	both_directions_ex("PSK-AES128-CCM-8", EMSE_REC_AES128_CCM8, AEAD_WOLFCRYPT);
}

static void test_gcm_both_directions(void **state)
{
	(void)state;
	both_directions("PSK-AES128-GCM-SHA256", EMSE_REC_AES128_GCM);
}

static void test_ccm8_both_directions(void **state)
{
	(void)state;
	both_directions("PSK-AES128-CCM-8", EMSE_REC_AES128_CCM8);
}

/* In place: the worker decrypts inside the received buffer and seals a reply written at its
 * payload offset, saving a copy each way. */
static void in_place(const char *suite)
{
	struct pair *p = compact_pair(suite);
	uint8_t dg[WM_DG_SIZE], got[600], msg[500];
	for (unsigned i = 0; i < 20; i++) {
		size_t n = 1 + i * 23;
		fill(msg, n, i);
		size_t dn = client_send(p, msg, n, dg), used, plain;
		uint8_t ct, *payload = dg + EMSE_REC_HDR + EMSE_REC_EXPLICIT;
		enum emse_rec_drop why;
		assert_int_equal(emse_record_open(&p->rc, &p->st, dg, dn, &used, payload, &plain, &ct,
						  &why), EMSE_REC_DATA);
		assert_int_equal(plain, n);
		assert_memory_equal(payload, msg, n);
		/* reply: plaintext already at the payload offset */
		fill(payload, n, i + 77);
		fill(msg, n, i + 77);
		size_t sl;
		assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, payload, n, dg,
						  sizeof(dg), &sl), 0);
		wm_push(&p->s2c, dg, sl);
		assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), (int)n);
		assert_memory_equal(got, msg, n);
	}
	pair_free(p);
}

static void test_in_place_gcm(void **state)
{
	(void)state;
	in_place("PSK-AES128-GCM-SHA256");
}

static void test_in_place_ccm8(void **state)
{
	(void)state;
	in_place("PSK-AES128-CCM-8");
}

/* The worker's echo of a one-record datagram: opened in place, the same plaintext sealed in place
 * over the same buffer with exactly the record's length as room. Out of order, a replay and a
 * forged tag in between: our sequence numbers go up by one per echo and only per echo, the window
 * takes what was opened and nothing else, and the client reads every echo. */
static void echo_in_place(const char *suite)
{
	struct pair *p = compact_pair(suite);
	static uint8_t dg[8][WM_DG_SIZE];
	uint8_t keep[WM_DG_SIZE], got[200], msg[8][100];
	size_t dn[8], used, plain, sl;
	uint8_t ct;
	enum emse_rec_drop why;
	for (unsigned i = 0; i < 8; i++) {
		fill(msg[i], 100, i);
		dn[i] = client_send(p, msg[i], 100, dg[i]);
	}
	uint64_t wseq = p->st.wseq, rnext = p->st.rnext;
	memcpy(keep, dg[2], dn[2]);
	static const unsigned order[8] = {0, 2, 1, 4, 3, 7, 5, 6};
	for (unsigned k = 0; k < 8; k++) {
		unsigned i = order[k];
		uint8_t *rec = dg[i], *payload = rec + EMSE_REC_HDR + EMSE_REC_EXPLICIT;
		if (k == 3) { /* a forged tag on record 4: dropped, payload wiped, nothing moves */
			uint8_t bad[WM_DG_SIZE];
			memcpy(bad, rec, dn[i]);
			bad[dn[i] - 1] ^= 0x80;
			uint64_t w0 = p->st.window;
			assert_int_equal(emse_record_open(&p->rc, &p->st, bad, dn[i], &used,
							  bad + EMSE_REC_HDR + EMSE_REC_EXPLICIT,
							  &plain, &ct, &why), EMSE_REC_DROP);
			assert_int_equal(why, EMSE_REC_BAD_TAG);
			for (size_t b = 0; b < 100; b++)
				assert_int_equal(bad[EMSE_REC_HDR + EMSE_REC_EXPLICIT + b], 0);
			assert_int_equal(p->st.window, w0);
			assert_int_equal(p->st.wseq, wseq + k);
		}
		assert_int_equal(emse_record_open(&p->rc, &p->st, rec, dn[i], &used, payload, &plain,
						  &ct, &why), EMSE_REC_DATA);
		assert_int_equal(plain, 100);
		assert_memory_equal(payload, msg[i], 100);
		assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, payload, plain, rec,
						  dn[i], &sl), 0);
		assert_int_equal(sl, dn[i]);
		/* our header: epoch 1, sequence wseq + k */
		uint64_t seq = 0;
		for (int b = 5; b < 11; b++)
			seq = seq << 8 | rec[b];
		assert_int_equal(seq, wseq + k);
		assert_int_equal(p->st.wseq, wseq + k + 1);
		wm_push(&p->s2c, rec, sl);
		assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), 100);
		assert_memory_equal(got, msg[i], 100);
		if (k == 1) { /* the client's record 2 again (kept before it was overwritten) */
			assert_int_equal(emse_record_open(&p->rc, &p->st, keep, dn[2], &used,
							  keep + EMSE_REC_HDR + EMSE_REC_EXPLICIT,
							  &plain, &ct, &why), EMSE_REC_DROP);
			assert_int_equal(why, EMSE_REC_REPLAY);
			assert_int_equal(p->st.wseq, wseq + 2);
		}
	}
	assert_int_equal(p->st.rnext, rnext + 8);
	assert_int_equal(p->st.window & 0xff, 0xff); /* all 8 opened */
	assert_int_equal(p->rc.st.opened, 8);
	assert_int_equal(p->rc.st.sealed, 8);
	assert_int_equal(p->rc.st.drops[EMSE_REC_REPLAY], 1);
	assert_int_equal(p->rc.st.drops[EMSE_REC_BAD_TAG], 1);
	pair_free(p);
}

static void test_echo_in_place_gcm(void **state)
{
	(void)state;
	echo_in_place("PSK-AES128-GCM-SHA256");
}

static void test_echo_in_place_ccm8(void **state)
{
	(void)state;
	echo_in_place("PSK-AES128-CCM-8");
}

static int key_in(const struct emse_record_ctx *c, const uint8_t key[16])
{
	const uint8_t *b = (const uint8_t *)c->keys;
	size_t n = emse_record_keys_bytes(c);
	for (size_t i = 0; i + 16 <= n; i++)
		if (memcmp(b + i, key, 16) == 0)
			return 1;
	return 0;
}

/* The per-worker key cache: more sessions than slots (every record a miss, each still right);
 * a state whose memory now holds another session's keys while its hint still points at the old
 * slot; and a wipe leaves neither the raw key nor its schedule (round key 0 is the key) in the
 * cache. */
static void test_key_cache(void **state)
{
	(void)state;
	struct pair *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = compact_pair(i == 1 ? "PSK-AES128-CCM-8" : "PSK-AES128-GCM-SHA256");
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init_keys(&c, 4, 2), 0);
	assert_int_equal(c.n_keys, 2);
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE], got[64];
	size_t used, plain, sl;
	uint8_t ct;
	enum emse_rec_drop why;
	for (unsigned r = 0; r < 12; r++) {
		struct pair *q = p[r % 3];
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "round %u", r);
		size_t dn = client_send(q, msg, (size_t)n, dg);
		assert_int_equal(emse_record_open(&c, &q->st, dg, dn, &used, out, &plain, &ct, &why),
				 EMSE_REC_DATA);
		assert_int_equal(plain, (size_t)n);
		assert_memory_equal(out, msg, (size_t)n);
		assert_int_equal(emse_record_seal(&c, &q->st, EMSE_REC_CT_APP, out, plain, dg,
						  sizeof(dg), &sl), 0);
		wm_push(&q->s2c, dg, sl);
		assert_int_equal(wolfSSL_read(q->cl, got, sizeof(got)), n);
		assert_memory_equal(got, msg, (size_t)n);
	}
	assert_int_equal(c.st.keys_expanded, 12); /* 3 sessions over 2 slots: each open a miss */
	assert_int_equal(c.st.sealed, 12);

	/* a hit: p[2] was last, twice in a row costs one expansion */
	size_t dn = client_send(p[2], "hit", 3, dg);
	assert_int_equal(emse_record_open(&c, &p[2]->st, dg, dn, &used, out, &plain, &ct, &why),
			 EMSE_REC_DATA);
	assert_int_equal(c.st.keys_expanded, 12);
	assert_true(key_in(&c, p[2]->st.rkey));

	/* p[2]'s state memory now holds p[0]'s session, with p[2]'s hint: the slot's keys differ */
	uint32_t hint = p[2]->st.kslot;
	struct emse_record_state saved = p[2]->st;
	p[2]->st = p[0]->st;
	p[2]->st.kslot = hint;
	dn = client_send(p[0], "moved", 5, dg);
	assert_int_equal(emse_record_open(&c, &p[2]->st, dg, dn, &used, out, &plain, &ct, &why),
			 EMSE_REC_DATA);
	assert_memory_equal(out, "moved", 5);
	assert_int_equal(p[2]->st.kslot, hint); /* its own stale slot was re-keyed */
	assert_false(key_in(&c, saved.rkey));
	assert_false(key_in(&c, saved.wkey));
	p[0]->st = p[2]->st;
	p[0]->st.kslot = 0;
	emse_record_wipe(&c, &p[2]->st); /* its slot, holding p[0]'s keys now */
	p[2]->st = saved;
	p[2]->st.kslot = 0;

	/* wipe: nothing of the session stays in the cache */
	uint8_t rk[16], wk[16];
	memcpy(rk, p[0]->st.rkey, 16);
	memcpy(wk, p[0]->st.wkey, 16);
	dn = client_send(p[0], "last", 4, dg);
	assert_int_equal(emse_record_open(&c, &p[0]->st, dg, dn, &used, out, &plain, &ct, &why),
			 EMSE_REC_DATA);
	assert_true(key_in(&c, rk));
	emse_record_wipe(&c, &p[0]->st);
	assert_false(key_in(&c, rk));
	assert_false(key_in(&c, wk));
	emse_record_ctx_fini(&c);
	for (int i = 0; i < 3; i++)
		pair_free(p[i]);
}

static void test_replay_dropped(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-GCM-SHA256");
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE];
	size_t dn = client_send(p, "hello", 5, dg), plain;
	enum emse_rec_drop why = EMSE_REC_DROP_MAX;
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DROP);
	assert_int_equal(why, EMSE_REC_REPLAY);
	assert_int_equal(p->rc.st.drops[EMSE_REC_REPLAY], 1);
	/* still works */
	dn = client_send(p, "again", 5, dg);
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_memory_equal(out, "again", 5);
	pair_free(p);
}

static void bad_tag_then_original(const char *suite)
{
	struct pair *p = compact_pair(suite);
	uint8_t dg[WM_DG_SIZE], bad[WM_DG_SIZE], out[WM_DG_SIZE];
	size_t dn = client_send(p, "payload", 7, dg), plain;
	enum emse_rec_drop why = EMSE_REC_DROP_MAX;
	memcpy(bad, dg, dn);
	bad[dn - 1] ^= 0x01; /* last tag bit */
	assert_int_equal(open1(p, bad, dn, out, &plain, &why), EMSE_REC_DROP);
	assert_int_equal(why, EMSE_REC_BAD_TAG);
	assert_int_equal(p->rc.st.drops[EMSE_REC_BAD_TAG], 1);
	/* the forged copy must not have moved the window: the genuine record still opens */
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_int_equal(plain, 7);
	assert_memory_equal(out, "payload", 7);
	pair_free(p);
}

static void test_bad_tag_gcm(void **state)
{
	(void)state;
	bad_tag_then_original("PSK-AES128-GCM-SHA256");
}

static void test_bad_tag_ccm8(void **state)
{
	(void)state;
	bad_tag_then_original("PSK-AES128-CCM-8");
}

static void test_wrong_epoch(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-CCM-8");
	uint8_t dg[WM_DG_SIZE], bad[WM_DG_SIZE], out[WM_DG_SIZE];
	size_t dn = client_send(p, "epoch", 5, dg), plain;
	enum emse_rec_drop why = EMSE_REC_DROP_MAX;
	for (unsigned e = 0; e < 3; e++) {
		if (e == 1)
			continue;
		memcpy(bad, dg, dn);
		bad[3] = 0;
		bad[4] = (uint8_t)e;
		assert_int_equal(open1(p, bad, dn, out, &plain, &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_WRONG_EPOCH);
	}
	assert_int_equal(p->rc.st.drops[EMSE_REC_WRONG_EPOCH], 2);
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_memory_equal(out, "epoch", 5);
	pair_free(p);
}

/* RFC 6347 4.1.2.6: out of order inside the 64-record window is fine, left of it is not. */
static void test_window_reorder_and_too_old(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-GCM-SHA256");
	static uint8_t dg[70][WM_DG_SIZE];
	size_t dn[70], plain;
	uint8_t out[WM_DG_SIZE];
	enum emse_rec_drop why = EMSE_REC_DROP_MAX;
	for (int i = 0; i < 70; i++)
		dn[i] = client_send(p, &i, sizeof(i), dg[i]);
	assert_int_equal(open1(p, dg[69], dn[69], out, &plain, &why), EMSE_REC_DATA);
	/* record 5 is 64 behind record 69: outside */
	assert_int_equal(open1(p, dg[5], dn[5], out, &plain, &why), EMSE_REC_DROP);
	assert_int_equal(why, EMSE_REC_TOO_OLD);
	/* record 6 is 63 behind: inside, opens once */
	assert_int_equal(open1(p, dg[6], dn[6], out, &plain, &why), EMSE_REC_DATA);
	assert_int_equal(*(int *)out, 6);
	assert_int_equal(open1(p, dg[6], dn[6], out, &plain, &why), EMSE_REC_DROP);
	assert_int_equal(why, EMSE_REC_REPLAY);
	for (int i = 68; i >= 7; i--) {
		assert_int_equal(open1(p, dg[i], dn[i], out, &plain, &why), EMSE_REC_DATA);
		assert_int_equal(*(int *)out, i);
	}
	assert_int_equal(p->rc.st.drops[EMSE_REC_TOO_OLD], 1);
	assert_int_equal(p->rc.st.drops[EMSE_REC_REPLAY], 1);
	pair_free(p);
}

static void test_close_notify_from_client(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-GCM-SHA256");
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE];
	size_t plain;
	enum emse_rec_drop why;
	wolfSSL_shutdown(p->cl);
	assert_int_equal(p->c2s.count, 1);
	size_t dn = wm_pop(&p->c2s, dg, sizeof(dg));
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_ALERT);
	assert_int_equal(plain, 2);
	assert_int_equal(out[0], EMSE_REC_ALERT_WARNING);
	assert_int_equal(out[1], EMSE_REC_ALERT_CLOSE_NOTIFY);
	assert_int_equal(p->rc.st.alerts, 1);
	pair_free(p);
}

static void test_our_close_notify_accepted(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-CCM-8");
	uint8_t dg[WM_DG_SIZE], got[64];
	size_t sl;
	assert_int_equal(emse_record_seal_close_notify(&p->rc, &p->st, dg, sizeof(dg), &sl), 0);
	wm_push(&p->s2c, dg, sl);
	int r = wolfSSL_read(p->cl, got, sizeof(got));
	assert_true(r <= 0);
	assert_int_equal(wolfSSL_get_error(p->cl, r), WOLFSSL_ERROR_ZERO_RETURN);
	pair_free(p);
}

/* Our last flight is lost: the client retransmits its flight (epoch 0 CKE + CCS, epoch 1
 * Finished); the Finished is reported, the held flight resent byte for byte completes the
 * client's handshake, and the session carries data. */
static void lost_flight(const char *suite)
{
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, suite, 1), 0);
	assert_int_equal(go_compact(p), 0);
	assert_int_equal(wm_step(p->cl, 0), 0); /* still waiting */
	assert_int_equal(wolfSSL_dtls_got_timeout(p->cl), WOLFSSL_SUCCESS);
	assert_true(p->c2s.count >= 1);
	int retx = 0, epoch_drops = 0;
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE];
	while (p->c2s.count) {
		size_t dn = wm_pop(&p->c2s, dg, sizeof(dg)), off = 0;
		while (off < dn) {
			size_t used, plain;
			uint8_t ct;
			enum emse_rec_drop why = EMSE_REC_DROP_MAX;
			enum emse_rec_rc rc = emse_record_open(&p->rc, &p->st, dg + off, dn - off,
							       &used, out, &plain, &ct, &why);
			if (rc == EMSE_REC_RETX) {
				assert_int_equal(ct, EMSE_REC_CT_HANDSHAKE);
				retx++;
			} else {
				assert_int_equal(rc, EMSE_REC_DROP);
				assert_int_equal(why, EMSE_REC_WRONG_EPOCH);
				epoch_drops++;
			}
			off += used;
		}
	}
	assert_int_equal(retx, 1);
	assert_int_equal(epoch_drops, 2); /* ClientKeyExchange, ChangeCipherSpec */
	assert_int_equal(p->rc.st.retx, 1);
	const struct emse_flight_slot *f = emse_record_flight(&p->rc, &p->st);
	assert_non_null(f);
	assert_int_equal(f->n_dg, p->n_flight);
	print_message("%s: server's last flight %u datagram(s), %u bytes\n", suite, f->n_dg,
		      (unsigned)(f->len[0] + (f->n_dg > 1 ? f->len[1] : 0)));
	for (unsigned i = 0; i < f->n_dg; i++)
		wm_push(&p->s2c, emse_flight_dg(f, i), f->len[i]);
	assert_int_equal(wm_step(p->cl, 0), 1);

	uint8_t got[16];
	size_t dn = client_send(p, "after", 5, dg), plain, sl;
	enum emse_rec_drop why;
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_memory_equal(out, "after", 5);
	assert_null(emse_record_flight(&p->rc, &p->st));
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, (const uint8_t *)"reply",
					  5, dg, sizeof(dg), &sl), 0);
	wm_push(&p->s2c, dg, sl);
	assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), 5);
	assert_memory_equal(got, "reply", 5);
	pair_free(p);
}

static void test_lost_flight_gcm(void **state)
{
	(void)state;
	lost_flight("PSK-AES128-GCM-SHA256");
}

static void test_lost_flight_ccm8(void **state)
{
	(void)state;
	lost_flight("PSK-AES128-CCM-8");
}

/* A Finished after the flight was evicted by newer ones is counted, not reported. */
static void test_flight_evicted(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, "PSK-AES128-GCM-SHA256", 1), 0);
	assert_int_equal(go_compact(p), 0);
	struct emse_record_state other[8];
	const uint8_t *dg0[1] = {(const uint8_t *)"x"};
	size_t len0[1] = {1};
	for (int i = 0; i < 8; i++) {
		memset(&other[i], 0, sizeof(other[i]));
		assert_int_equal(emse_record_flight_hold(&p->rc, &other[i], dg0, len0, 1), 0);
	}
	assert_int_equal(p->rc.st.flights_evicted, 1);
	assert_null(emse_record_flight(&p->rc, &p->st));
	assert_int_equal(wolfSSL_dtls_got_timeout(p->cl), WOLFSSL_SUCCESS);
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE];
	while (p->c2s.count) {
		size_t dn = wm_pop(&p->c2s, dg, sizeof(dg)), off = 0;
		while (off < dn) {
			size_t used, plain;
			uint8_t ct;
			enum emse_rec_drop why;
			assert_int_not_equal(emse_record_open(&p->rc, &p->st, dg + off, dn - off, &used,
							      out, &plain, &ct, &why), EMSE_REC_RETX);
			off += used;
		}
	}
	assert_int_equal(p->rc.st.drops[EMSE_REC_FLIGHT_GONE], 1);
	pair_free(p);
}

/* The last sequence number (2^48 - 1) is still sealed; after it the session must end (RFC 6347
 * 4.1: a sequence number must not wrap). (wolfSSL refuses such a jump, so no client reads it.) */
static void test_seq_exhausted(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-GCM-SHA256");
	uint8_t dg[WM_DG_SIZE];
	size_t sl;
	p->st.wseq = (1ULL << 48) - 1;
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, (const uint8_t *)"last", 4,
					  dg, sizeof(dg), &sl), 0);
	static const uint8_t last[8] = {0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	assert_memory_equal(dg + 3, last, 8);       /* epoch 1, sequence 2^48 - 1 */
	assert_memory_equal(dg + 13, last, 8);      /* the explicit nonce repeats them */
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, (const uint8_t *)"more", 4,
					  dg, sizeof(dg), &sl), -1);
	assert_int_equal(p->rc.st.drops[EMSE_REC_SEQ_EXHAUSTED], 1);
	pair_free(p);
}

static void test_seal_too_big(void **state)
{
	(void)state;
	struct pair *p = compact_pair("PSK-AES128-CCM-8");
	static uint8_t big[EMSE_REC_MAX_PLAIN + 1], dg[EMSE_REC_MAX_PLAIN + 64];
	size_t sl;
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, big, sizeof(big), dg,
					  sizeof(dg), &sl), -1);
	/* 10 bytes need 13 + 8 + 10 + 8 = 39 */
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, big, 10, dg, 38, &sl), -1);
	assert_int_equal(p->rc.st.drops[EMSE_REC_TOO_BIG], 2);
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, big, 10, dg, 39, &sl), 0);
	assert_int_equal(sl, 39);
	assert_int_equal(p->st.wseq, 2); /* refusals used no sequence number */
	pair_free(p);
}

/* The worker's pool reuses objects: wolfSSL_clear + import of a never-used object's state
 * (WOLFSSL-NOTES.md). A reused object's session exports and goes compact like a fresh one. */
static void test_pooled_object(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, "PSK-AES128-CCM-8", 0), 0);
	WOLFSSL *blank = wm_new(p->sctx, &p->se);
	assert_non_null(blank);
	uint8_t b[512];
	unsigned int bs = sizeof(b);
	assert_true(wolfSSL_dtls_export_state_only(blank, b, &bs) > 0);
	wolfSSL_free(blank);
	for (int round = 0; round < 3; round++) {
		wolfSSL_clear(p->sv);
		assert_true(wolfSSL_dtls_import(p->sv, b, bs) > 0);
		wolfSSL_free(p->cl);
		memset(&p->c2s, 0, sizeof(p->c2s));
		memset(&p->s2c, 0, sizeof(p->s2c));
		p->n_flight = 0;
		p->cl = wm_new(p->cctx, &p->ce);
		assert_non_null(p->cl);
		assert_int_equal(run_handshake(p, 0), 0);
	}
	assert_int_equal(go_compact(p), 0);
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE], got[16];
	size_t dn = client_send(p, "pooled", 6, dg), plain, sl;
	enum emse_rec_drop why;
	assert_int_equal(open1(p, dg, dn, out, &plain, &why), EMSE_REC_DATA);
	assert_memory_equal(out, "pooled", 6);
	assert_int_equal(emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, (const uint8_t *)"reused",
					  6, dg, sizeof(dg), &sl), 0);
	wm_push(&p->s2c, dg, sl);
	assert_int_equal(wolfSSL_read(p->cl, got, sizeof(got)), 6);
	assert_memory_equal(got, "reused", 6);
	pair_free(p);
}

static void test_cbc_unsupported(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, "PSK-AES128-CBC-SHA256", 0), 0);
	struct emse_record_state st;
	assert_int_equal(emse_record_import(&st, p->sv), EMSE_REC_E_UNSUPPORTED);
	pair_free(p);
}

/* Every truncation and a wrong protocol or version byte fails cleanly; the full blob works. */
static void test_blob_parsed_strictly(void **state)
{
	(void)state;
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(handshake(p, "PSK-AES128-CCM-8", 0), 0);
	uint8_t blob[512], b[512];
	unsigned int sz = sizeof(blob);
	assert_true(wolfSSL_dtls_export(p->sv, blob, &sz) > 0);
	struct emse_record_state st;
	for (unsigned n = 0; n < sz; n++) {
		memcpy(b, blob, n);
		assert_int_not_equal(emse_record_import_blob(&st, b, n), 0);
	}
	memcpy(b, blob, sz);
	b[0] ^= 1;
	assert_int_equal(emse_record_import_blob(&st, b, sz), EMSE_REC_E_PARSE);
	memcpy(b, blob, sz);
	b[1] = (uint8_t)((b[1] & 0xF0) | 4); /* export version 4 */
	assert_int_equal(emse_record_import_blob(&st, b, sz), EMSE_REC_E_PARSE);
	memcpy(b, blob, sz);
	b[3]++; /* total length beyond the buffer */
	assert_int_equal(emse_record_import_blob(&st, b, sz), EMSE_REC_E_PARSE);
	/* a total length shorter than the length field itself (found by fuzz_record) */
	static const uint8_t tiny[] = {0xa5, 0xa5, 0x00, 0x01, 0x00};
	assert_int_equal(emse_record_import_blob(&st, tiny, sizeof(tiny)), EMSE_REC_E_PARSE);
	assert_int_equal(emse_record_import_blob(&st, blob, sz), 0);
	assert_int_equal(st.cipher, EMSE_REC_AES128_CCM8);
	assert_int_equal(st.suite[0], 0xC0);
	assert_int_equal(st.suite[1], 0xA8);
	assert_int_equal(st.wepoch, 1);
	assert_int_equal(st.repoch, 1);
	assert_int_equal(st.wseq, 1); /* our Finished was epoch 1, record 0 */
	assert_int_equal(st.rnext, 1); /* so was the client's */
	assert_int_equal(st.window, 1);
	pair_free(p);
}

static void test_state_size(void **state)
{
	(void)state;
	assert_true(sizeof(struct emse_record_state) <= 256);
	print_message("sizeof(struct emse_record_state) = %zu\n", sizeof(struct emse_record_state));
}

/* The per-packet path allocates nothing; the sanitizer owns the allocator, so skipped there. */
#include "malloc_count.h"

static void test_no_heap_per_record(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();
#else
	struct pair *p = compact_pair("PSK-AES128-GCM-SHA256");
	uint8_t dg[WM_DG_SIZE], out[WM_DG_SIZE], msg[100] = {1};
	size_t dn = client_send(p, msg, sizeof(msg), dg), plain, sl;
	enum emse_rec_drop why;
	counting = 1;
	void *volatile probe = malloc(16);
	counting = 0;
	free(probe);
	assert_int_equal(n_alloc, 1);
	n_alloc = 0;
	counting = 1;
	int ok = open1(p, dg, dn, out, &plain, &why) == EMSE_REC_DATA;
	for (int i = 0; i < 100; i++)
		ok &= emse_record_seal(&p->rc, &p->st, EMSE_REC_CT_APP, msg, sizeof(msg), dg,
				       sizeof(dg), &sl) == 0;
	counting = 0;
	assert_true(ok);
	assert_int_equal(n_alloc, 0);
	pair_free(p);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_size),
		cmocka_unit_test(test_gcm_both_directions),
		cmocka_unit_test(test_ccm8_both_directions),
		cmocka_unit_test(test_gcm_documented_setup),
		cmocka_unit_test(test_gcm_wolfcrypt),
		cmocka_unit_test(test_ccm8_wolfcrypt),
		cmocka_unit_test(test_key_cache_follows_switch),
		cmocka_unit_test(test_in_place_gcm),
		cmocka_unit_test(test_in_place_ccm8),
		cmocka_unit_test(test_echo_in_place_gcm),
		cmocka_unit_test(test_echo_in_place_ccm8),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_replay_dropped),
		cmocka_unit_test(test_bad_tag_gcm),
		cmocka_unit_test(test_bad_tag_ccm8),
		cmocka_unit_test(test_wrong_epoch),
		cmocka_unit_test(test_window_reorder_and_too_old),
		cmocka_unit_test(test_close_notify_from_client),
		cmocka_unit_test(test_our_close_notify_accepted),
		cmocka_unit_test(test_lost_flight_gcm),
		cmocka_unit_test(test_lost_flight_ccm8),
		cmocka_unit_test(test_flight_evicted),
		cmocka_unit_test(test_seq_exhausted),
		cmocka_unit_test(test_seal_too_big),
		cmocka_unit_test(test_pooled_object),
		cmocka_unit_test(test_cbc_unsupported),
		cmocka_unit_test(test_blob_parsed_strictly),
		cmocka_unit_test(test_no_heap_per_record),
	};
	return cmocka_run_group_tests(tests, NULL, wm_done);
}
