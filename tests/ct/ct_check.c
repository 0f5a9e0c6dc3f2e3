/* make ct (issue 17): the secret-dependent checks of the protocol code, run under Valgrind
 * memcheck with their secrets marked undefined (the ctgrind technique). Memcheck then reports any
 * conditional jump or memory address that depends on a secret; tests/ct/run.sh fails on any
 * report. The verdicts themselves (tag right or wrong, cookie valid, Finished verified) are made
 * public where the code decides them (include/emse/dtls/ct.h); everything before them must not branch
 * or index on a secret.
 *   ct_check           the checks: HMAC-SHA-256 and the PRF (hmac256.c), AES-128-GCM and
 *                      AES-128-CCM-8 tag checks (aesgcm.c, aesccm.c), record.c's open and seal,
 *                      the cookie check (cookie.c), the Finished check (hs12.c), AES-128-CMAC
 *                      (aescmac.c, AES-NI path) and the cluster envelope's seal and check
 *                      (cluster.c) under a secret cluster key
 *   ct_check negative  a deliberately variable-time compare of a secret: must be reported, or
 *                      the harness cannot see what it is meant to see
 * It also says which AES code ran: ours on AES-NI (constant time by construction) or wolfCrypt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "emse/cluster.h"
#include "emse/dtls/aesccm.h"
#include "emse/dtls/aescmac.h"
#include "emse/dtls/aesgcm.h"
#include "emse/config.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls_peek.h"
#include "emse/dtls/hmac256.h"
#include "emse/dtls/hs12.h"
#include "emse/dtls/record.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static int failures;
static void expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "ct_check: %s: wrong result\n", what);
		failures++;
	}
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

/* ---- HMAC and the PRF ------------------------------------------------------------------------- */

static void check_hmac(void)
{
	uint8_t key[100], out[32], prf[40];
	static const uint8_t msg[] = "public message";
	struct emse_hmac256 k;
	for (size_t kl = 16; kl <= sizeof(key); kl += 84) { /* within a block, and hashed first */
		fill(key, kl, 3);
		SECRET(key, kl);
		emse_hmac256_key(&k, key, kl);
		struct emse_part part = {msg, sizeof(msg)};
		emse_hmac256(&k, &part, 1, out);
		emse_tls12_prf_keyed(&k, "key expansion", msg, sizeof(msg), msg, 4, prf, sizeof(prf));
		emse_hmac256_wipe(&k);
	}
}

/* ---- AES-128-CMAC and the cluster envelope ------------------------------------------------------ */

/* The OpenSSL fallback (AES_encrypt, tables) is not what is checked: main() requires AES-NI. */
static void check_cmac(void)
{
	uint8_t key[EMSE_CLUSTER_KEY_LEN], msg[48], tag[16];
	fill(msg, sizeof(msg), 5);
	for (size_t n = 0; n <= sizeof(msg); n++) { /* whole and padded last blocks */
		struct emse_cmac_key k;
		fill(key, 16, (uint8_t)n);
		SECRET(key, 16);
		emse_cmac_init(&k, key);
		emse_cmac(&k, msg, n, tag);
		emse_cmac_wipe(&k);
	}
	fill(key, sizeof(key), 9);
	SECRET(key, sizeof(key));
	struct emse_cluster_key ck;
	emse_cluster_key_init(&ck, key);
	struct emse_cluster_meta m = {.node = 2, .ts_ms = 1000, .sport = 1, .dport = 2};
	m.src.family = m.dst.family = 4;
	uint8_t env[EMSE_CLUSTER_OVERHEAD + sizeof(msg)];
	size_t n = emse_cluster_seal(&ck, &m, msg, sizeof(msg), env, sizeof(env));
	expect(n == sizeof(env), "cluster seal");
	PUBLIC(env, sizeof(env)); /* on the wire */
	struct emse_cluster_meta got;
	const uint8_t *p;
	size_t pl;
	expect(emse_cluster_open(&ck, env, n, 1000, 2000, &got, &p, &pl) == EMSE_CLUSTER_OK,
	       "cluster open");
	env[n - 1] ^= 1;
	expect(emse_cluster_open(&ck, env, n, 1000, 2000, &got, &p, &pl) == EMSE_CLUSTER_BAD_MAC,
	       "cluster forged tag");
	emse_cluster_key_wipe(&ck);
}

/* ---- the AEADs, directly and through record.c --------------------------------------------------- */

static void check_aead(void)
{
	uint8_t key[16], nonce[12], aad[13], pt[200], ct[200], back[200], tag[16];
	fill(nonce, 12, 1);
	fill(aad, 13, 2);
	fill(pt, sizeof(pt), 3);
	for (size_t n = 0; n <= sizeof(pt); n += 37) {
		struct emse_gcm_key g;
		fill(key, 16, 9);
		SECRET(key, 16);
		emse_gcm_init(&g, key);
		emse_gcm_seal(&g, nonce, aad, 13, pt, n, ct, tag);
		PUBLIC(ct, n); /* on the wire */
		PUBLIC(tag, 16);
		expect(emse_gcm_open(&g, nonce, aad, 13, ct, n, back, tag) == 0, "GCM open");
		tag[3] ^= 1;
		expect(emse_gcm_open(&g, nonce, aad, 13, ct, n, back, tag) != 0, "GCM forged tag");

		struct emse_ccm_key c;
		SECRET(key, 16);
		emse_ccm_init(&c, key);
		emse_ccm8_seal(&c, nonce, aad, 13, pt, n, ct, tag);
		PUBLIC(ct, n);
		PUBLIC(tag, 8);
		expect(emse_ccm8_open(&c, nonce, aad, 13, ct, n, back, tag) == 0, "CCM-8 open");
		tag[7] ^= 0x80;
		expect(emse_ccm8_open(&c, nonce, aad, 13, ct, n, back, tag) != 0, "CCM-8 forged tag");
	}
}

static void check_record(struct emse_record_ctx *rc)
{
	static const uint8_t msg[] = "application data, public to this check";
	for (int cipher = EMSE_REC_AES128_GCM; cipher <= EMSE_REC_AES128_CCM8; cipher++) {
		struct emse_record_state a, b;
		memset(&a, 0, sizeof(a));
		a.cipher = (uint8_t)cipher;
		a.wepoch = a.repoch = 1;
		fill(a.wkey, 16, 5);
		fill(a.rkey, 16, 6);
		fill(a.wsalt, 4, 7);
		fill(a.rsalt, 4, 8);
		SECRET(a.wkey, 16);
		SECRET(a.rkey, 16);
		SECRET(a.wsalt, 4);
		SECRET(a.rsalt, 4);
		/* the peer: our directions swapped */
		b = a;
		memcpy(b.rkey, a.wkey, 16);
		memcpy(b.wkey, a.rkey, 16);
		memcpy(b.rsalt, a.wsalt, 4);
		memcpy(b.wsalt, a.rsalt, 4);
		uint8_t rec[128], out[128];
		size_t n, used, pl;
		uint8_t type;
		enum emse_rec_drop why;
		for (int round = 0; round < 3; round++) { /* a miss, then key-cache hits */
			expect(emse_record_seal(rc, &a, EMSE_REC_CT_APP, msg, sizeof(msg), rec, sizeof(rec),
						&n) == 0, "record seal");
			PUBLIC(rec, n);
			expect(emse_record_open(rc, &b, rec, n, &used, out, &pl, &type, &why) ==
				       EMSE_REC_DATA, "record open");
			rec[n - 1] ^= 1;
			expect(emse_record_open(rc, &b, rec, n, &used, out, &pl, &type, &why) ==
				       EMSE_REC_DROP && why == EMSE_REC_REPLAY, "record replay");
			a.wseq += 5; /* a fresh number, forged tag */
			expect(emse_record_seal(rc, &a, EMSE_REC_CT_APP, msg, sizeof(msg), rec, sizeof(rec),
						&n) == 0, "record seal 2");
			PUBLIC(rec, n);
			rec[20] ^= 4;
			expect(emse_record_open(rc, &b, rec, n, &used, out, &pl, &type, &why) ==
				       EMSE_REC_DROP && why == EMSE_REC_BAD_TAG, "record forged");
		}
		emse_record_wipe(rc, &a);
		emse_record_wipe(rc, &b);
	}
}

/* ---- the cookie -------------------------------------------------------------------------------- */

/* A ClientHello record with a 32-byte cookie at *cookie_at (offset into out). */
static size_t client_hello(uint8_t *out, size_t *cookie_at)
{
	uint8_t *p = out + 13 + 12;
	*p++ = 0xfe;
	*p++ = 0xfd;
	fill(p, 32, 11);
	p += 32;
	*p++ = 0;
	*p++ = 32;
	*cookie_at = (size_t)(p - out);
	memset(p, 0, 32);
	p += 32;
	*p++ = 0;
	*p++ = 2;
	*p++ = 0x00;
	*p++ = 0xa8; /* PSK-AES128-GCM-SHA256 */
	*p++ = 1;
	*p++ = 0;
	size_t body = (size_t)(p - out) - 25;
	uint8_t *m = out + 13;
	m[0] = 1;
	m[1] = 0, m[2] = (uint8_t)(body >> 8), m[3] = (uint8_t)body;
	m[4] = 0, m[5] = 1;
	m[6] = m[7] = m[8] = 0;
	m[9] = 0, m[10] = (uint8_t)(body >> 8), m[11] = (uint8_t)body;
	static const uint8_t hdr[11] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1};
	memcpy(out, hdr, 11);
	out[11] = (uint8_t)((12 + body) >> 8);
	out[12] = (uint8_t)(12 + body);
	return 13 + 12 + body;
}

static void check_cookie(void)
{
	static const uint8_t peer[19] = {4, 0x12, 0x34, 198, 18, 0, 2};
	struct emse_cookie_keys k;
	memset(&k, 0, sizeof(k));
	fill(k.cur, 32, 21);
	fill(k.prev, 32, 22);
	k.has_prev = 1;
	SECRET(k.cur, 32);
	SECRET(k.prev, 32);
	uint8_t dg[200];
	size_t at, n = client_hello(dg, &at);
	struct dtls_client_hello ch;
	expect(dtls_parse_client_hello(dg, n, &ch) == DTLS_PEEK_OK, "ClientHello parse");
	for (int which = 0; which < 3; which++) {
		/* the cookie a client returns: ours under the current or the previous secret, or junk */
		if (which < 2)
			emse_cookie_compute(which ? k.prev : k.cur, peer, sizeof(peer), &ch, dg + at);
		else
			fill(dg + at, 32, 99);
		PUBLIC(dg + at, 32); /* it came from the wire */
		const uint8_t *m = emse_cookie_verify(&k, peer, sizeof(peer), &ch);
		expect(m == (which == 0 ? k.cur : which == 1 ? k.prev : NULL), "cookie verify");
	}
	emse_cookie_wipe(&k);
}

/* ---- the Finished -------------------------------------------------------------------------------- */

static void check_finished(struct emse_record_ctx *rc)
{
	for (int wrong = 0; wrong < 2; wrong++) {
		uint8_t dg[200];
		size_t at, n = client_hello(dg, &at);
		struct dtls_client_hello ch;
		struct emse_hs12_hello hello;
		expect(dtls_parse_client_hello(dg, n, &ch) == DTLS_PEEK_OK, "ClientHello parse");
		expect(emse_hs12_parse_hello(&ch, EMSE_SUITE_GCM, &hello) == EMSE_HS12_OK, "hello");
		static struct emse_hs12 h;
		expect(emse_hs12_start(&h, &hello, "") == 0, "hs12 start");
		uint8_t psk[32], out[EMSE_HS12_OUT_MAX];
		size_t ol;
		enum emse_hs_fail why;
		fill(psk, 32, 31);
		SECRET(psk, 32);
		/* ClientKeyExchange + ChangeCipherSpec */
		static const uint8_t cke_ccs[] = {
			22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 12 + 4,
			16, 0, 0, 4, 0, 2, 0, 0, 0, 0, 0, 4, 0, 2, 'i', 'd',
			20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 1};
		expect(emse_hs12_input(&h, rc, psk, 32, cke_ccs, sizeof(cke_ccs), out, &ol, &why) ==
			       EMSE_HS12_WANT, "CKE+CCS");
		/* the client's Finished: what hs12 expects (secret), sealed by the client's keys */
		uint8_t fin[12 + 12];
		static const uint8_t fh[12] = {20, 0, 0, 12, 0, 3, 0, 0, 0, 0, 0, 12};
		memcpy(fin, fh, 12);
		memcpy(fin + 12, h.client_vd, 12);
		fin[20] ^= (uint8_t)wrong;
		struct emse_record_state cl = h.rec;
		memcpy(cl.wkey, h.rec.rkey, 16);
		memcpy(cl.wsalt, h.rec.rsalt, 4);
		cl.flags = 0;
		cl.kslot = 0;
		uint8_t rec[100];
		size_t rl;
		expect(emse_record_seal(rc, &cl, 22, fin, sizeof(fin), rec, sizeof(rec), &rl) == 0,
		       "client Finished");
		emse_record_wipe(rc, &cl);
		PUBLIC(rec, rl); /* on the wire */
		enum emse_hs12_rc r = emse_hs12_input(&h, rc, psk, 32, rec, rl, out, &ol, &why);
		expect(wrong ? r == EMSE_HS12_FATAL && why == EMSE_HS_FAIL_BAD_FINISHED
			     : r == EMSE_HS12_DONE, "Finished verdict");
		emse_record_wipe(rc, &h.rec);
		emse_hs12_wipe(&h);
	}
}

/* ---- the negative control ------------------------------------------------------------------------ */

/* What the checks above must never contain: an early exit on secret bytes. */
static __attribute__((noinline)) int leaky_compare(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "negative")) {
		uint8_t secret[16], guess[16];
		fill(secret, 16, 1);
		fill(guess, 16, 1);
		guess[9] ^= 1;
		SECRET(secret, 16);
		int r = leaky_compare(secret, guess, 16);
		PUBLIC(&r, sizeof(r));
		printf("ct_check negative: leaky_compare ran (%d); memcheck must report it\n", r);
		return 0;
	}
	struct emse_record_ctx rc;
	if (emse_record_ctx_init(&rc, 16) != 0)
		return 2;
	printf("ct_check: AES-GCM by %s, AES-CCM-8 by %s\n",
	       rc.gcm_ni ? "dataplane/dtls/aesgcm.c (AES-NI, PCLMULQDQ)" : "wolfCrypt",
	       rc.ccm_ni ? "dataplane/dtls/aesccm.c (AES-NI)" : "wolfCrypt");
	if (!rc.gcm_ni || !rc.ccm_ni) {
		/* wolfCrypt's C fallback indexes tables by key and data: not what is checked here */
		fprintf(stderr, "ct_check: this CPU (as Valgrind shows it) lacks AES-NI: our AEADs "
				"are not the ones running\n");
		return 2;
	}
	check_hmac();
	check_aead();
	check_record(&rc);
	check_cookie();
	check_finished(&rc);
	check_cmac();
	emse_record_ctx_fini(&rc);
	printf("ct_check: HMAC/PRF, GCM and CCM-8 tag checks, record open/seal, cookie check, "
	       "Finished check, CMAC and cluster envelope ran (%d wrong results)\n", failures);
	return failures ? 1 : 0;
}
