/* dataplane/dtls/record.c, RFC 9146 tls12_cid records: what we seal is byte for byte the record built
 * here from the RFC's text (header, AAD of its section 5, inner plaintext) with wolfCrypt's AEAD;
 * what such a record carries (padding included) opens to its content and real type; malformed,
 * forged, replayed and mismatched records are dropped by reason. GCM and CCM-8. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emse/dtls/record.h"
#include "cid_ref.h"

static const uint8_t ckey[16] = {0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t skey[16] = {0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x2f};
static const uint8_t civ[4] = {0xc1, 0xc2, 0xc3, 0xc4}, siv[4] = {0x51, 0x52, 0x53, 0x54};
static const uint8_t our_cid[8] = {0x07, 0x91, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const uint8_t peer_cid[3] = {0xaa, 0xbb, 0xcc};

/* The server's state: F_CID with our CID, and the client's CID of peer_len octets. */
static void server_state(struct emse_record_state *st, uint8_t cipher, unsigned peer_len)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->rkey, ckey, 16);
	memcpy(st->wkey, skey, 16);
	memcpy(st->rsalt, civ, 4);
	memcpy(st->wsalt, siv, 4);
	st->wepoch = st->repoch = 1;
	st->wseq = 5;
	st->cipher = cipher;
	st->flags = (uint8_t)(EMSE_REC_F_CID | peer_len << EMSE_REC_PEER_CID_SHIFT);
}

static const uint8_t ciphers[2] = {EMSE_REC_AES128_GCM, EMSE_REC_AES128_CCM8};

static void test_seal_matches_rfc(void **state)
{
	(void)state;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		struct emse_record_state st;
		server_state(&st, ciphers[k], 3);
		uint8_t out[128], ref[128];
		size_t n;
		assert_int_equal(emse_record_seal_cid(&c, &st, 23, peer_cid,
						      (const uint8_t *)"hello", 5, out, sizeof(out),
						      &n), 0);
		size_t rn = ref_record(ciphers[k], skey, siv, 5, peer_cid, 3,
				       (const uint8_t *)"hello", 5, 23, 0, ref);
		assert_int_equal(n, rn);
		assert_memory_equal(out, ref, rn);
		assert_int_equal(st.wseq, 6);
		/* in place, from where the content goes */
		uint8_t buf[128];
		memcpy(buf + 13 + 3 + 8, "hello", 5);
		assert_int_equal(emse_record_seal_cid(&c, &st, 23, peer_cid, buf + 13 + 3 + 8, 5,
						      buf, sizeof(buf), &n), 0);
		rn = ref_record(ciphers[k], skey, siv, 6, peer_cid, 3, (const uint8_t *)"hello", 5,
				23, 0, ref);
		assert_memory_equal(buf, ref, rn);
		/* a zero-length client CID: the plain RFC 6347 record */
		server_state(&st, ciphers[k], 0);
		assert_int_equal(emse_record_seal_cid(&c, &st, 23, peer_cid,
						      (const uint8_t *)"hello", 5, out, sizeof(out),
						      &n), 0);
		assert_int_equal(out[0], 23);
		assert_int_equal(n, 13 + 8 + 5 + (k ? 8 : 16));
	}
	emse_record_ctx_fini(&c);
}

static void test_open_rfc_record(void **state)
{
	(void)state;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		struct emse_record_state st;
		server_state(&st, ciphers[k], 0);
		for (unsigned pad = 0; pad < 40; pad += 13) {
			uint8_t rec[256], out[256], type;
			size_t rn = ref_record(ciphers[k], ckey, civ, 100 + pad, our_cid, 8,
					       (const uint8_t *)"reading", 7, 23, pad, rec);
			size_t used, n;
			enum emse_rec_drop why;
			assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n,
							      &type, &why), EMSE_REC_DATA);
			assert_int_equal(used, rn);
			assert_int_equal(n, 7);
			assert_int_equal(type, 23);
			assert_memory_equal(out, "reading", 7);
			/* the same again: a replay */
			assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n,
							      &type, &why), EMSE_REC_DROP);
			assert_int_equal(why, EMSE_REC_REPLAY);
		}
		/* an alert inside: its real type; in place */
		uint8_t rec[128], type;
		size_t used, n;
		enum emse_rec_drop why;
		size_t rn = ref_record(ciphers[k], ckey, civ, 200, our_cid, 8,
				       (const uint8_t *)"\x01\x00", 2, 21, 3, rec);
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, rec + 13 + 8 + 8,
						      &n, &type, &why), EMSE_REC_ALERT);
		assert_int_equal(type, 21);
		assert_int_equal(n, 2);
	}
	emse_record_ctx_fini(&c);
}

static void test_malformed_and_forged(void **state)
{
	(void)state;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		struct emse_record_state st;
		server_state(&st, ciphers[k], 0);
		uint8_t rec[256], out[256], type;
		size_t used, n, rn;
		enum emse_rec_drop why;
		/* inner plaintext of zeros only: authentic, but no type */
		rn = ref_record(ciphers[k], ckey, civ, 1, our_cid, 8, NULL, 0, 0, 4, rec);
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_MALFORMED);
		/* the CID is authenticated: another one fails the tag */
		rn = ref_record(ciphers[k], ckey, civ, 2, our_cid, 8, (const uint8_t *)"x", 1, 23,
				0, rec);
		rec[11 + 7] ^= 1;
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_BAD_TAG);
		rec[11 + 7] ^= 1;
		/* restored: it opens */
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DATA);
		/* the length says more than there is */
		rn = ref_record(ciphers[k], ckey, civ, 3, our_cid, 8, (const uint8_t *)"x", 1, 23,
				0, rec);
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn - 1, 8, &used, out, &n,
						      &type, &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_MALFORMED);
		/* a plain record on a CID session: refused */
		uint8_t plain[64];
		struct emse_record_state cl;
		memset(&cl, 0, sizeof(cl));
		memcpy(cl.wkey, ckey, 16);
		memcpy(cl.wsalt, civ, 4);
		cl.wepoch = 1;
		cl.wseq = 50;
		cl.cipher = ciphers[k];
		assert_int_equal(emse_record_seal(&c, &cl, 23, (const uint8_t *)"x", 1, plain,
						  sizeof(plain), &n), 0);
		assert_int_equal(emse_record_open_cid(&c, &st, plain, n, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_MALFORMED);
		/* a CID record on a session without CIDs: refused, and framed */
		st.flags = 0;
		rn = ref_record(ciphers[k], ckey, civ, 4, our_cid, 8, (const uint8_t *)"x", 1, 23,
				0, rec);
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_MALFORMED);
		assert_int_equal(used, rn);
	}
	emse_record_ctx_fini(&c);
}

/* our seal, the client's open (its state mirrors ours, our CID its peer's) */
static void test_round_trip(void **state)
{
	(void)state;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		struct emse_record_state s, cl;
		server_state(&s, ciphers[k], 3);
		memset(&cl, 0, sizeof(cl));
		memcpy(cl.rkey, skey, 16);
		memcpy(cl.rsalt, siv, 4);
		cl.repoch = 1;
		cl.cipher = ciphers[k];
		cl.flags = EMSE_REC_F_CID;
		for (size_t len = 0; len < 300; len += 37) {
			uint8_t msg[300], rec[400], out[400], type;
			for (size_t i = 0; i < len; i++)
				msg[i] = (uint8_t)(i * 7 + len);
			size_t n, used, pl;
			enum emse_rec_drop why;
			assert_int_equal(emse_record_seal_cid(&c, &s, 23, peer_cid, msg, len, rec,
							      sizeof(rec), &n), 0);
			assert_int_equal(emse_record_open_cid(&c, &cl, rec, n, 3, &used, out, &pl,
							      &type, &why), EMSE_REC_DATA);
			assert_int_equal(pl, len);
			assert_memory_equal(out, msg, len);
		}
	}
	emse_record_ctx_fini(&c);
}

/* RFC 9146 6, what the worker moves a session's address on: an authentic record newer than all
 * before it; never a replayed, forged or older one. */
static void test_address_update_rule(void **state)
{
	(void)state;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		struct emse_record_state st;
		server_state(&st, ciphers[k], 0);
		uint8_t rec[128], out[128], type;
		size_t used, n, rn;
		enum emse_rec_drop why;
		uint64_t before;
		struct { uint64_t seq; int forge; enum emse_rec_rc rc; int newest; } steps[] = {
			{0, 0, EMSE_REC_DATA, 1},   /* the first record */
			{10, 0, EMSE_REC_DATA, 1},  /* newer */
			{5, 0, EMSE_REC_DATA, 0},   /* authentic, older: no move */
			{10, 0, EMSE_REC_DROP, 0},  /* replayed */
			{30, 1, EMSE_REC_DROP, 0},  /* forged */
			{11, 0, EMSE_REC_DATA, 1},  /* newer again (the forged 30 moved nothing) */
			{11 - 64, 0, EMSE_REC_DROP, 0}, /* left of the window: too old */
		};
		for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			if (steps[i].seq > (1ull << 48))
				continue;
			rn = ref_record(ciphers[k], ckey, civ, steps[i].seq, our_cid, 8,
					(const uint8_t *)"m", 1, 23, 0, rec);
			if (steps[i].forge)
				rec[rn - 1] ^= 0x80;
			before = st.rnext;
			assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n,
							      &type, &why), steps[i].rc);
			assert_int_equal(emse_rec_was_newest(&st, before), steps[i].newest);
		}
		/* too old: from 75 on, 11 is left of the window */
		rn = ref_record(ciphers[k], ckey, civ, 75, our_cid, 8, (const uint8_t *)"m", 1, 23,
				0, rec);
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DATA);
		rn = ref_record(ciphers[k], ckey, civ, 11, our_cid, 8, (const uint8_t *)"m", 1, 23,
				0, rec);
		before = st.rnext;
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 8, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_TOO_OLD);
		assert_false(emse_rec_was_newest(&st, before));
	}
	emse_record_ctx_fini(&c);
}

/* Every CID length we meet, against the reference: ours 4-16 octets opened, a client's 1-4 sealed
 * (record.c builds the AAD from registers, the length's two octets falling anywhere in its
 * second and third blocks), with sequence numbers of distinct octets and inner plaintexts over
 * 255 bytes (both length octets non-zero); a longer CID than ours can be is refused. */
static void test_every_cid_length(void **state)
{
	(void)state;
	static const uint8_t cid16[16] = {0x07, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x17,
					  0x28, 0x39, 0x4a, 0x5b, 0x6c, 0x7d, 0x8e, 0x9f};
	static const size_t lens[] = {0, 1, 100, 111, 300};
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	for (int k = 0; k < 2; k++) {
		uint64_t seq = 0x0102030405ull;
		for (unsigned cl = 4; cl <= 16; cl++) {
			struct emse_record_state st;
			server_state(&st, ciphers[k], 0);
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
				uint8_t msg[300], rec[400], type;
				for (size_t i = 0; i < lens[li]; i++)
					msg[i] = (uint8_t)(i * 13 + cl);
				size_t rn = ref_record(ciphers[k], ckey, civ, ++seq, cid16, cl, msg,
						       lens[li], 23, 0, rec);
				size_t used, n;
				enum emse_rec_drop why;
				uint8_t *in_place = rec + 13 + cl + 8;
				assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, cl, &used,
								      in_place, &n, &type, &why),
						 EMSE_REC_DATA);
				assert_int_equal(n, lens[li]);
				assert_memory_equal(in_place, msg, n);
			}
		}
		for (unsigned pl = 1; pl <= EMSE_REC_PEER_CID_MAX; pl++) {
			struct emse_record_state st;
			server_state(&st, ciphers[k], pl);
			st.wseq = 0x0a0b0c0d0eull;
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
				uint8_t msg[300], out[400], ref[400];
				for (size_t i = 0; i < lens[li]; i++)
					msg[i] = (uint8_t)(i * 5 + pl);
				uint64_t seq = st.wseq;
				size_t n;
				assert_int_equal(emse_record_seal_cid(&c, &st, 23, cid16 + 3, msg,
								      lens[li], out, sizeof(out), &n), 0);
				size_t rn = ref_record(ciphers[k], skey, siv, seq, cid16 + 3, pl, msg,
						       lens[li], 23, 0, ref);
				assert_int_equal(n, rn);
				assert_memory_equal(out, ref, rn);
			}
		}
		struct emse_record_state st;
		server_state(&st, ciphers[k], 0);
		uint8_t rec[128], out[128], type;
		size_t used, n, rn = ref_record(ciphers[k], ckey, civ, 1, cid16, 16,
						(const uint8_t *)"x", 1, 23, 0, rec);
		enum emse_rec_drop why;
		assert_int_equal(emse_record_open_cid(&c, &st, rec, rn, 17, &used, out, &n, &type,
						      &why), EMSE_REC_DROP);
		assert_int_equal(why, EMSE_REC_MALFORMED);
	}
	emse_record_ctx_fini(&c);
}

static void test_sizes(void **state)
{
	(void)state;
	/* the idle-session budget (docs/cid.md): CID state fits what was padding */
	assert_int_equal(sizeof(struct emse_record_state), 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_matches_rfc),
		cmocka_unit_test(test_open_rfc_record),
		cmocka_unit_test(test_malformed_and_forged),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_address_update_rule),
		cmocka_unit_test(test_every_cid_length),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
