/* libFuzzer: the compact record layer (dataplane/dtls/record.c) on arbitrary bytes. The first byte
 * picks what the rest is:
 *   0: a wolfSSL export blob for emse_record_import_blob: fails cleanly or gives a sane state;
 *   1: a datagram walked record by record with emse_record_open: every result stays inside the
 *      input and the walk always advances;
 *   2: a plaintext sealed by one side and opened by the other: it must come back identical, a
 *      second open must be a replay, and any one-byte change of the record must not open.
 *   3: as 1 on a session with RFC 9146 CIDs (emse_record_open_cid, an 8-octet CID of ours);
 *   4: as 2 with tls12_cid records (emse_record_seal_cid to a 1..4-octet peer CID, opened by the
 *      peer's emse_record_open_cid), padding none.
 * Seeds in tests/fuzz/corpus/record/ hold a real blob (CCM-8) and real records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/record.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct emse_record_ctx ctx;

static void pair(struct emse_record_state *a, struct emse_record_state *b, uint8_t cipher)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 16; i++) {
		a->wkey[i] = (uint8_t)(i + 1);
		a->rkey[i] = (uint8_t)(0x80 + i);
	}
	memcpy(a->wsalt, "\x01\x02\x03\x04", 4);
	memcpy(a->rsalt, "\x05\x06\x07\x08", 4);
	a->wepoch = a->repoch = 1;
	a->wseq = 1;
	a->rnext = 1;
	a->window = 1;
	a->cipher = cipher;
	*b = *a;
	memcpy(b->rkey, a->wkey, 16);
	memcpy(b->wkey, a->rkey, 16);
	memcpy(b->rsalt, a->wsalt, 4);
	memcpy(b->wsalt, a->rsalt, 4);
}

/* A datagram record by record (cid_len: our CID's length on a CID session, else 0): every result
 * stays inside the input and the walk always advances. */
static void walk(struct emse_record_state *c, const uint8_t *b, size_t size, uint8_t *out,
		 unsigned cid_len)
{
	size_t at = 0;
	while (at < size) {
		size_t used = 0, plain = 0;
		uint8_t ct;
		enum emse_rec_drop why = EMSE_REC_DROP_MAX;
		enum emse_rec_rc rc =
			cid_len ? emse_record_open_cid(&ctx, c, b + at, size - at, cid_len, &used,
						       out, &plain, &ct, &why)
				: emse_record_open(&ctx, c, b + at, size - at, &used, out, &plain,
						   &ct, &why);
		CHECK(used > 0 && used <= size - at);
		CHECK(plain <= used);
		CHECK(rc <= EMSE_REC_DROP);
		if (rc == EMSE_REC_DROP)
			CHECK(why < EMSE_REC_DROP_MAX);
		at += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx.scratch && emse_record_ctx_init(&ctx, 4) != 0)
		__builtin_trap();
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 5;
	size--;
	uint8_t *b = malloc(size ? size : 1); /* exact size, so ASan sees any overread */
	memcpy(b, data + 1, size);
	uint8_t *out = malloc(size + EMSE_REC_MAX_OVERHEAD + EMSE_REC_CID_OVERHEAD + 1);
	struct emse_record_state a, c;

	if (mode == 0) {
		int r = emse_record_import_blob(&a, b, size);
		CHECK(r <= 0 && r >= EMSE_REC_E_EXPORT);
		if (r == 0) {
			CHECK(a.cipher == EMSE_REC_AES128_GCM || a.cipher == EMSE_REC_AES128_CCM8);
			CHECK(a.wseq < (1ULL << 48) && a.rnext < (1ULL << 48));
			CHECK(a.wepoch && a.repoch);
		}
	} else if (mode == 1) {
		pair(&a, &c, size && (b[0] & 1) ? EMSE_REC_AES128_GCM : EMSE_REC_AES128_CCM8);
		walk(&c, b, size, out, 0);
	} else if (mode == 3) {
		pair(&a, &c, size && (b[0] & 1) ? EMSE_REC_AES128_GCM : EMSE_REC_AES128_CCM8);
		c.flags |= EMSE_REC_F_CID;
		walk(&c, b, size, out, 8);
	} else if (mode == 4 && size <= EMSE_REC_MAX_PLAIN) {
		uint8_t cipher = size && (b[0] & 1) ? EMSE_REC_AES128_GCM : EMSE_REC_AES128_CCM8;
		unsigned cl = 1 + (size ? b[0] >> 1 & 3 : 0);
		static const uint8_t peer_cid[4] = {0xc1, 0xd2, 0xe3, 0xf4};
		pair(&a, &c, cipher);
		a.flags |= (uint8_t)(cl << EMSE_REC_PEER_CID_SHIFT);
		c.flags |= EMSE_REC_F_CID;
		size_t cap = size + EMSE_REC_MAX_OVERHEAD + EMSE_REC_CID_OVERHEAD, n = 0, used, plain;
		uint8_t *rec = malloc(cap), *got = malloc(cap), ct;
		enum emse_rec_drop why;
		CHECK(emse_record_seal_cid(&ctx, &a, EMSE_REC_CT_APP, peer_cid, b, size, rec, cap,
					   &n) == 0);
		CHECK(n == size + EMSE_REC_HDR + cl + EMSE_REC_EXPLICIT + 1 +
			       (cipher == EMSE_REC_AES128_GCM ? 16 : 8));
		CHECK(rec[0] == EMSE_REC_CT_CID && memcmp(rec + 11, peer_cid, cl) == 0);
		size_t pos = size ? (b[size - 1] * 131u + size) % n : 0;
		rec[pos] ^= (uint8_t)(size ? b[0] | 1 : 1);
		CHECK(emse_record_open_cid(&ctx, &c, rec, n, cl, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DROP);
		rec[pos] ^= (uint8_t)(size ? b[0] | 1 : 1);
		CHECK(emse_record_open_cid(&ctx, &c, rec, n, cl, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DATA);
		CHECK(used == n && plain == size && ct == EMSE_REC_CT_APP &&
		      memcmp(got, b, size) == 0);
		CHECK(emse_record_open_cid(&ctx, &c, rec, n, cl, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DROP && why == EMSE_REC_REPLAY);
		free(rec);
		free(got);
	} else if (mode == 2 && size <= EMSE_REC_MAX_PLAIN) {
		uint8_t cipher = size && (b[0] & 1) ? EMSE_REC_AES128_GCM : EMSE_REC_AES128_CCM8;
		pair(&a, &c, cipher);
		size_t cap = size + EMSE_REC_MAX_OVERHEAD, n = 0, used, plain;
		uint8_t *rec = malloc(cap), *got = malloc(cap), ct;
		enum emse_rec_drop why;
		CHECK(emse_record_seal(&ctx, &a, EMSE_REC_CT_APP, b, size, rec, cap, &n) == 0);
		CHECK(n == size + EMSE_REC_HDR + EMSE_REC_EXPLICIT +
			       (cipher == EMSE_REC_AES128_GCM ? 16 : 8));
		/* one changed byte anywhere must not open */
		size_t pos = size ? (b[size - 1] * 131u + size) % n : 0;
		rec[pos] ^= (uint8_t)(size ? b[0] | 1 : 1);
		CHECK(emse_record_open(&ctx, &c, rec, n, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DROP);
		rec[pos] ^= (uint8_t)(size ? b[0] | 1 : 1);
		CHECK(emse_record_open(&ctx, &c, rec, n, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DATA);
		CHECK(used == n && plain == size && memcmp(got, b, size) == 0);
		CHECK(emse_record_open(&ctx, &c, rec, n, &used, got, &plain, &ct, &why) ==
		      EMSE_REC_DROP && why == EMSE_REC_REPLAY);
		free(rec);
		free(got);
	}
	free(out);
	free(b);
	return 0;
}
