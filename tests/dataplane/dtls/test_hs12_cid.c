/* dataplane/dtls/hs12.c with RFC 9146 connection ids, against a client written here from the RFCs
 * (PSK key exchange, TLS 1.2 PRF, the tls12_cid records of cid_ref.h): the connection_id extension
 * is parsed (zero-length, short and too long client CIDs, malformed), the ServerHello carries our
 * CID, the client's Finished arrives as a tls12_cid record, ours goes to the client's CID (or is a
 * plain record when the client's CID is empty), and the session's records then carry CIDs. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emse/config.h"
#include "emse/dtls/dtls_peek.h"
#include "emse/dtls/hs12.h"
#include "cid_ref.h"
#include "hello.h"

static const uint8_t psk[16] = {0x50, 0x53, 0x4b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const uint8_t our_cid[8] = {0x03, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07};

static int hello_of(const uint8_t *ext, size_t elen, uint8_t *buf, struct emse_hs12_hello *h)
{
	struct dtls_client_hello ch;
	size_t n = make_ch(buf, ext, elen, elen != 0);
	if (dtls_parse_client_hello(buf, n, &ch) != DTLS_PEEK_OK)
		return -1;
	return (int)emse_hs12_parse_hello(&ch, EMSE_SUITE_CCM8 | EMSE_SUITE_GCM, h);
}

static void test_extension_parsed(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct emse_hs12_hello h;
	const uint8_t zero[] = {0x00, 0x36, 0x00, 0x01, 0x00};
	assert_int_equal(hello_of(zero, sizeof(zero), buf, &h), EMSE_HS12_OK);
	assert_int_equal(h.cid_offered, 1);
	assert_int_equal(h.peer_cid_len, 0);
	const uint8_t three[] = {0x00, 0x36, 0x00, 0x04, 0x03, 0xaa, 0xbb, 0xcc};
	assert_int_equal(hello_of(three, sizeof(three), buf, &h), EMSE_HS12_OK);
	assert_int_equal(h.cid_offered, 1);
	assert_int_equal(h.peer_cid_len, 3);
	assert_memory_equal(h.peer_cid, three + 5, 3);
	/* longer than a session keeps: served, without CIDs */
	const uint8_t five[] = {0x00, 0x36, 0x00, 0x06, 0x05, 1, 2, 3, 4, 5};
	assert_int_equal(hello_of(five, sizeof(five), buf, &h), EMSE_HS12_OK);
	assert_int_equal(h.cid_offered, 0);
	/* no extension: no offer */
	assert_int_equal(hello_of(NULL, 0, buf, &h), EMSE_HS12_OK);
	assert_int_equal(h.cid_offered, 0);
	/* the inner length disagrees, empty body, twice: the block is not ours to read */
	const uint8_t lie[] = {0x00, 0x36, 0x00, 0x02, 0x03, 0xaa};
	assert_int_equal(hello_of(lie, sizeof(lie), buf, &h), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t empty[] = {0x00, 0x36, 0x00, 0x00};
	assert_int_equal(hello_of(empty, sizeof(empty), buf, &h), EMSE_HS12_SKIP_EXTENSIONS);
	const uint8_t twice[] = {0x00, 0x36, 0x00, 0x01, 0x00, 0x00, 0x36, 0x00, 0x01, 0x00};
	assert_int_equal(hello_of(twice, sizeof(twice), buf, &h), EMSE_HS12_SKIP_EXTENSIONS);
}

/* The handshake messages of our flight (one datagram of epoch-0 records) into the transcript;
 * *cid_ext: the ServerHello's connection_id extension data, NULL if none. */
static void flight_messages(const uint8_t *f, size_t n, wc_Sha256 *t, const uint8_t **cid_ext,
			    uint8_t server_random[32])
{
	*cid_ext = NULL;
	for (size_t off = 0; off < n;) {
		size_t rl = (size_t)(f[off + 11] << 8 | f[off + 12]);
		const uint8_t *m = f + off + 13;
		assert_int_equal(f[off], 22);
		wc_Sha256Update(t, m, (word32)rl);
		if (m[0] == 2) { /* ServerHello: 2 + 32 + sid(1) + suite 2 + comp 1, then exts */
			const uint8_t *b = m + 12;
			memcpy(server_random, b + 2, 32);
			size_t i = 2 + 32 + 1 + b[34] + 2 + 1, end = rl - 12;
			if (i < end) {
				size_t el = (size_t)(b[i] << 8 | b[i + 1]);
				i += 2;
				assert_int_equal(i + el, end);
				while (i < end) {
					unsigned type = b[i] << 8 | b[i + 1];
					size_t l = (size_t)(b[i + 2] << 8 | b[i + 3]);
					if (type == 54)
						*cid_ext = b + i + 4;
					i += 4 + l;
				}
			}
		}
		off += 13 + rl;
	}
}

static void prf(const uint8_t *secret, size_t sl, const char *label, const uint8_t *a, size_t al,
		const uint8_t *b, size_t bl, uint8_t *out, size_t n)
{
	assert_int_equal(emse_tls12_prf(secret, sl, label, a, al, b, bl, out, n), 0);
}

/* The ClientHello with the connection_id extension ext (a client CID of peer_len octets), for
 * cipher. */
static void cid_hello(uint8_t cipher, const uint8_t *ext, unsigned peer_len, uint8_t *chb,
		      struct emse_hs12_hello *hello)
{
	assert_int_equal(hello_of(ext, 5 + peer_len, chb, hello), EMSE_HS12_OK);
	hello->cipher = cipher;
	if (cipher == EMSE_REC_AES128_GCM) {
		hello->suite[0] = 0x00;
		hello->suite[1] = 0xa8;
	}
}

/* The client's first application record (sequence 1, pad zero octets of padding), to our CID
 * under the key block kb, opens on the session st. */
static void client_record_opens(struct emse_record_ctx *rc, struct emse_record_state *st,
				uint8_t cipher, const uint8_t *kb, const char *msg, unsigned pad)
{
	uint8_t dg[256], plain[64], type;
	size_t used, pl, ml = strlen(msg);
	enum emse_rec_drop drop;
	size_t n = ref_record(cipher, kb, kb + 32, 1, our_cid, sizeof(our_cid), (const uint8_t *)msg,
			      ml, 23, pad, dg);
	assert_int_equal(emse_record_open_cid(rc, st, dg, n, sizeof(our_cid), &used, plain, &pl,
					      &type, &drop),
			 EMSE_REC_DATA);
	assert_int_equal(pl, ml);
	assert_memory_equal(plain, msg, ml);
}

/* The client's ChangeCipherSpec (epoch-0 record sequence rseq) and its Finished fin as the first
 * tls12_cid record of epoch 1, to our CID, into dg; returns their length. */
static size_t ccs_finished(uint8_t *dg, uint8_t rseq, uint8_t cipher, const uint8_t *kb,
			   const uint8_t fin[24])
{
	const uint8_t ccs[] = {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, rseq, 0, 1, 1};
	memcpy(dg, ccs, sizeof(ccs));
	return sizeof(ccs) + ref_record(cipher, kb, kb + 32, 0, our_cid, sizeof(our_cid), fin, 24,
					22, 0, dg + sizeof(ccs));
}

/* Runs a whole handshake with a client CID of peer_len (0 or 3) octets. */
static void handshake(uint8_t cipher, unsigned peer_len)
{
	uint8_t chb[256], ext[16] = {0x00, 0x36, 0x00, (uint8_t)(1 + peer_len), (uint8_t)peer_len,
				      0x11, 0x22, 0x33};
	struct emse_hs12_hello hello;
	cid_hello(cipher, ext, peer_len, chb, &hello);
	static struct emse_hs12 h;
	struct emse_record_ctx rc;
	assert_int_equal(emse_record_ctx_init(&rc, 4), 0);
	assert_int_equal(emse_hs12_start_cid(&h, &hello, "", our_cid, sizeof(our_cid)), 0);

	/* our flight: the ServerHello names our CID */
	wc_Sha256 t;
	assert_int_equal(wc_InitSha256(&t), 0);
	wc_Sha256Update(&t, hello.msg, (word32)hello.msg_len);
	const uint8_t *cx;
	uint8_t sr[32], cr[32];
	memcpy(cr, hello.random, 32);
	flight_messages(h.flight, h.flight_len, &t, &cx, sr);
	assert_non_null(cx);
	assert_int_equal(cx[0], sizeof(our_cid));
	assert_memory_equal(cx + 1, our_cid, sizeof(our_cid));

	/* the client: ClientKeyExchange, keys, Finished (RFC 4279, RFC 5246) */
	uint8_t cke[12 + 4] = {16, 0, 0, 4, 0, 2, 0, 0, 0, 0, 0, 4, 0, 2, 'i', 'd'};
	wc_Sha256Update(&t, cke, sizeof(cke));
	uint8_t th[32], pms[36] = {0, 16}, ms[48], kb[40], cvd[12], svd[12];
	pms[18] = 0;
	pms[19] = 16;
	memcpy(pms + 20, psk, 16);
	prf(pms, sizeof(pms), "master secret", cr, 32, sr, 32, ms, sizeof(ms));
	prf(ms, sizeof(ms), "key expansion", sr, 32, cr, 32, kb, sizeof(kb));
	wc_Sha256 t2;
	assert_int_equal(wc_Sha256Copy(&t, &t2), 0);
	assert_int_equal(wc_Sha256Final(&t2, th), 0);
	prf(ms, sizeof(ms), "client finished", th, 32, NULL, 0, cvd, 12);
	uint8_t fin[12 + 12] = {20, 0, 0, 12, 0, 3, 0, 0, 0, 0, 0, 12};
	memcpy(fin + 12, cvd, 12);
	wc_Sha256Update(&t, fin, sizeof(fin));
	assert_int_equal(wc_Sha256Final(&t, th), 0);
	prf(ms, sizeof(ms), "server finished", th, 32, NULL, 0, svd, 12);

	uint8_t dg[256];
	size_t n = 0;
	const uint8_t r0[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, sizeof(cke)};
	memcpy(dg, r0, sizeof(r0));
	memcpy(dg + 13, cke, sizeof(cke));
	n = 13 + sizeof(cke);
	n += ccs_finished(dg + n, 3, cipher, kb, fin);
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t on;
	enum emse_hs_fail why;
	assert_int_equal(emse_hs12_input(&h, &rc, psk, sizeof(psk), dg, n, out, &on, &why),
			 EMSE_HS12_DONE);
	assert_true(h.rec.flags & EMSE_REC_F_CID);
	assert_int_equal(emse_rec_peer_cid_len(&h.rec), peer_len);
	assert_false(h.rec.flags & EMSE_REC_F_HANDSHAKE);

	/* our Finished: after the CCS, to the client's CID, or plain when it has none */
	assert_int_equal(out[0], 20);
	struct emse_record_state cl;
	memset(&cl, 0, sizeof(cl));
	memcpy(cl.rkey, kb + 16, 16);
	memcpy(cl.rsalt, kb + 36, 4);
	memcpy(cl.wkey, kb, 16);
	memcpy(cl.wsalt, kb + 32, 4);
	cl.repoch = cl.wepoch = 1;
	cl.wseq = 1;
	cl.cipher = cipher;
	cl.flags = peer_len ? EMSE_REC_F_CID : 0;
	uint8_t plain[64], type;
	size_t used, pl;
	enum emse_rec_drop drop;
	assert_int_equal(out[14], peer_len ? 25 : 22);
	if (peer_len)
		assert_memory_equal(out + 14 + 11, ext + 5, peer_len);
	cl.flags |= EMSE_REC_F_HANDSHAKE;
	assert_int_equal(emse_record_open_cid(&rc, &cl, out + 14, on - 14, peer_len, &used, plain,
					      &pl, &type, &drop),
			 EMSE_REC_HANDSHAKE);
	assert_int_equal(pl, 24);
	assert_int_equal(plain[0], 20);
	assert_memory_equal(plain + 12, svd, 12);

	/* the session: the client's records carry our CID */
	client_record_opens(&rc, &h.rec, cipher, kb, "reading", 2);
	emse_hs12_wipe(&h);
	emse_record_ctx_fini(&rc);
}

static void test_handshake_zero_length_client_cid_ccm8(void **state)
{
	(void)state;
	handshake(EMSE_REC_AES128_CCM8, 0);
}

static void test_handshake_client_cid_gcm(void **state)
{
	(void)state;
	handshake(EMSE_REC_AES128_GCM, 3);
	handshake(EMSE_REC_AES128_CCM8, 3);
	handshake(EMSE_REC_AES128_GCM, 0);
}

/* An offer answered without our CID (listener cid = off): no extension, no CID session. */
static void test_offer_left_unanswered(void **state)
{
	(void)state;
	uint8_t chb[256];
	const uint8_t zero[] = {0x00, 0x36, 0x00, 0x01, 0x00};
	struct emse_hs12_hello hello;
	assert_int_equal(hello_of(zero, sizeof(zero), chb, &hello), EMSE_HS12_OK);
	static struct emse_hs12 h;
	assert_int_equal(emse_hs12_start(&h, &hello, ""), 0);
	wc_Sha256 t;
	assert_int_equal(wc_InitSha256(&t), 0);
	const uint8_t *cx;
	uint8_t sr[32];
	flight_messages(h.flight, h.flight_len, &t, &cx, sr);
	assert_null(cx);
	assert_int_equal(h.rec.flags, 0);
	wc_Sha256Free(&t);
	emse_hs12_wipe(&h);
}

/* Session resumption and CIDs together: a full handshake's ServerHello carries both our session
 * id and our CID (and the master secret is kept for the cache); the abbreviated handshake that
 * resumes it answers the CID offer again, its Finished goes to the client's CID and survives a
 * retransmission of the flight unchanged, and the client's tls12_cid Finished ends it. */
static void resume_with_cid(uint8_t cipher, unsigned peer_len)
{
	uint8_t chb[256], ext[16] = {0x00, 0x36, 0x00, (uint8_t)(1 + peer_len), (uint8_t)peer_len,
				      0x11, 0x22, 0x33};
	uint8_t sid[32];
	memset(sid, 0x5e, sizeof(sid));
	struct emse_hs12_hello hello;
	cid_hello(cipher, ext, peer_len, chb, &hello);
	static struct emse_hs12 h;
	struct emse_record_ctx rc;
	assert_int_equal(emse_record_ctx_init(&rc, 4), 0);
	assert_int_equal(emse_hs12_start_sid_cid(&h, &hello, "e2m", sid, our_cid, sizeof(our_cid)),
			 0);
	assert_true(h.flight_len <= EMSE_HS12_FLIGHT_MAX);
	const uint8_t *cx, *sh = h.flight + 13 + 12; /* the ServerHello's body */
	wc_Sha256 t;
	uint8_t sr[32];
	assert_int_equal(wc_InitSha256(&t), 0);
	flight_messages(h.flight, h.flight_len, &t, &cx, sr);
	wc_Sha256Free(&t);
	assert_int_equal(sh[34], 32);
	assert_memory_equal(sh + 35, sid, 32);
	assert_non_null(cx);
	assert_int_equal(cx[0], sizeof(our_cid));
	assert_memory_equal(cx + 1, our_cid, sizeof(our_cid));
	assert_true(h.rec.flags & EMSE_REC_F_CID);
	emse_hs12_wipe(&h);

	/* the abbreviated handshake, from a master secret the cache held */
	uint8_t ms[EMSE_HS12_MS_LEN];
	memset(ms, 0x4d, sizeof(ms));
	cid_hello(cipher, ext, peer_len, chb, &hello);
	assert_int_equal(emse_hs12_resume(&h, &rc, &hello, sid, ms, our_cid, sizeof(our_cid)), 0);
	assert_true(h.flight_len <= EMSE_HS12_FLIGHT_MAX);
	const uint8_t *f = h.flight;
	size_t shl = 13 + (size_t)(f[11] << 8 | f[12]);
	assert_int_equal(f[0], 22);
	assert_int_equal(sh[34], 32);
	assert_memory_equal(sh + 35, sid, 32);
	uint8_t cr[32];
	memcpy(cr, hello.random, 32);
	memcpy(sr, sh + 2, 32);
	/* the CID extension again: ServerHello body = 2 + 32 + 33 + 2 + 1, then the extensions */
	size_t bl = shl - 25, i = 2 + 32 + 1 + 32 + 2 + 1 + 2;
	bool seen = false;
	while (i + 4 <= bl) {
		unsigned type = sh[i] << 8 | sh[i + 1];
		size_t l = (size_t)(sh[i + 2] << 8 | sh[i + 3]);
		if (type == 54) {
			assert_int_equal(sh[i + 4], sizeof(our_cid));
			assert_memory_equal(sh + i + 5, our_cid, sizeof(our_cid));
			seen = true;
		}
		i += 4 + l;
	}
	assert_true(seen);
	assert_int_equal(f[shl], 20); /* ChangeCipherSpec */
	const uint8_t *fr = f + shl + 14;
	size_t frl = h.flight_len - shl - 14;
	assert_int_equal(fr[0], peer_len ? 25 : 22);
	if (peer_len)
		assert_memory_equal(fr + 11, ext + 5, peer_len);
	/* resent as is: the walker steps over the tls12_cid header */
	uint8_t before[EMSE_HS12_FLIGHT_MAX];
	memcpy(before, f, h.flight_len);
	size_t fl;
	emse_hs12_flight(&h, &fl);
	assert_int_equal(fl, h.flight_len);
	assert_memory_equal(fr, before + shl + 14, frl); /* the CCS has a new sequence number */

	/* the client's view: keys from the cached master secret and the new randoms */
	uint8_t kb[40], th[32], svd[12], cvd[12];
	prf(ms, sizeof(ms), "key expansion", sr, 32, cr, 32, kb, sizeof(kb));
	assert_int_equal(wc_InitSha256(&t), 0);
	wc_Sha256Update(&t, hello.msg, (word32)hello.msg_len);
	wc_Sha256Update(&t, f + 13, (word32)(shl - 13));
	wc_Sha256 t2;
	assert_int_equal(wc_Sha256Copy(&t, &t2), 0);
	assert_int_equal(wc_Sha256Final(&t2, th), 0);
	prf(ms, sizeof(ms), "server finished", th, 32, NULL, 0, svd, 12);
	struct emse_record_state cl;
	memset(&cl, 0, sizeof(cl));
	memcpy(cl.rkey, kb + 16, 16);
	memcpy(cl.rsalt, kb + 36, 4);
	cl.repoch = cl.wepoch = 1;
	cl.cipher = cipher;
	cl.flags = (uint8_t)((peer_len ? EMSE_REC_F_CID : 0) | EMSE_REC_F_HANDSHAKE);
	uint8_t plain[64], type;
	size_t used, pl;
	enum emse_rec_drop drop;
	assert_int_equal(emse_record_open_cid(&rc, &cl, fr, frl, peer_len, &used, plain, &pl, &type,
					      &drop),
			 EMSE_REC_HANDSHAKE);
	assert_int_equal(pl, 24);
	assert_int_equal(plain[0], 20);
	assert_memory_equal(plain + 12, svd, 12);
	wc_Sha256Update(&t, plain, 24);
	assert_int_equal(wc_Sha256Final(&t, th), 0);
	prf(ms, sizeof(ms), "client finished", th, 32, NULL, 0, cvd, 12);

	/* the client's ChangeCipherSpec and Finished (tls12_cid, to our CID) end it */
	uint8_t fin[12 + 12] = {20, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 12}, dg[256];
	memcpy(fin + 12, cvd, 12);
	size_t n = ccs_finished(dg, 2, cipher, kb, fin);
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t on;
	enum emse_hs_fail why;
	assert_int_equal(emse_hs12_input(&h, &rc, psk, sizeof(psk), dg, n, out, &on, &why),
			 EMSE_HS12_DONE);
	assert_int_equal(on, 0);
	assert_true(h.rec.flags & EMSE_REC_F_CID);
	assert_int_equal(emse_rec_peer_cid_len(&h.rec), peer_len);
	assert_false(h.rec.flags & EMSE_REC_F_HANDSHAKE);
	client_record_opens(&rc, &h.rec, cipher, kb, "resumed", 0);
	wc_Sha256Free(&t);
	emse_hs12_wipe(&h);
	emse_record_ctx_fini(&rc);
}

static void test_resumption_with_cid(void **state)
{
	(void)state;
	resume_with_cid(EMSE_REC_AES128_CCM8, 3);
	resume_with_cid(EMSE_REC_AES128_GCM, 3);
	resume_with_cid(EMSE_REC_AES128_CCM8, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extension_parsed),
		cmocka_unit_test(test_handshake_zero_length_client_cid_ccm8),
		cmocka_unit_test(test_handshake_client_cid_gcm),
		cmocka_unit_test(test_offer_left_unanswered),
		cmocka_unit_test(test_resumption_with_cid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
