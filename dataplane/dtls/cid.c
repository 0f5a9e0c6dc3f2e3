/* Connection IDs we issue (include/emse/dtls/cid.h, docs/cid.md). The permutation is a 4-round
 * unbalanced Feistel network over the (len-1)-octet body, as QUIC-LB's short-length cipher: one
 * AES-128 block per round, on AES-NI where the CPU has it (each record of a CID session is looked
 * up through emse_cid_decode), OpenSSL's AES_encrypt otherwise. */
/* AES_encrypt: the software fallback, read-only key so workers share it. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/aes.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aes_ni.h"
#include "emse/dtls/cid.h"

typedef unsigned __int128 u128;

int emse_cid_check_bits(unsigned len, uint32_t max_sessions)
{
	if (len < EMSE_CID_MIN || len > EMSE_CID_MAX || max_sessions == 0)
		return -1;
	unsigned sb = 0;
	while (sb < 32 && (1ull << sb) < max_sessions)
		sb++;
	int room = (int)(8 * (len - 1)) - EMSE_CID_WORKER_BITS - (int)sb;
	if (room < 0)
		return -1;
	return room > EMSE_CID_CHECK_MAX ? EMSE_CID_CHECK_MAX : room;
}

TARGET_BEGIN(NARROW)
static void schedule_ni(struct emse_cid_codec *c, const uint8_t key[16])
{
	__m128i rk[11];
	aes128_schedule(rk, key);
	for (int i = 0; i < 11; i++)
		store(c->rk[i], rk[i]);
	explicit_bzero(rk, sizeof(rk));
}

/* The Feistel network of feistel() below on the n body octets held in a register (octets n..15
 * zero), with the halves moved by byte shuffles instead of through memory: the same function,
 * ~4 AES latencies a call (it runs on every tls12_cid datagram). */
static __m128i feistel_ni(const struct emse_cid_codec *c, __m128i v, unsigned n, int decrypt)
{
	const uint8_t (*rk)[16] = (const uint8_t (*)[16])c->rk;
	int a = (int)(n + 1) / 2, bl = (int)n - a;
	__m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	__m128i va = _mm_set1_epi8((char)a), vn = _mm_set1_epi8((char)n);
	__m128i left = _mm_cmplt_epi8(idx, va);                              /* octets < a */
	__m128i in_r = _mm_andnot_si128(left, _mm_cmplt_epi8(idx, vn));      /* a <= octet < n */
	/* pad octet i to body octet a + i; body octet a + i to block octet i (0x80: zero) */
	__m128i to_r = _mm_or_si128(_mm_sub_epi8(idx, va), _mm_andnot_si128(in_r, _mm_set1_epi8(-1)));
	__m128i from_r = _mm_or_si128(_mm_add_epi8(idx, va),
				      _mm_andnot_si128(_mm_cmplt_epi8(idx, _mm_set1_epi8((char)bl)),
						       _mm_set1_epi8(-1)));
	__m128i base = _mm_xor_si128(load(c->tweak), _mm_insert_epi8(_mm_setzero_si128(), (int)n, 14));
	for (unsigned k = 0; k < 4; k++) {
		unsigned r = decrypt ? 3 - k : k;
		__m128i t = _mm_xor_si128(base, _mm_insert_epi8(_mm_setzero_si128(), (int)r, 15));
		if (r % 2 == 0) {
			__m128i pad = aes_one(rk, _mm_xor_si128(_mm_and_si128(v, left), t));
			v = _mm_xor_si128(v, _mm_shuffle_epi8(pad, to_r));
		} else {
			__m128i pad = aes_one(rk, _mm_xor_si128(_mm_shuffle_epi8(v, from_r), t));
			v = _mm_xor_si128(v, _mm_and_si128(pad, left));
		}
	}
	return v;
}

static u128 permute_ni(const struct emse_cid_codec *c, u128 x, unsigned n, int decrypt)
{
	__m128i v = _mm_set_epi64x((long long)(uint64_t)(x >> 64), (long long)(uint64_t)x);
	v = feistel_ni(c, v, n, decrypt);
	return (u128)(uint64_t)_mm_extract_epi64(v, 1) << 64 | (uint64_t)_mm_cvtsi128_si64(v);
}
TARGET_END

int emse_cid_codec_init(struct emse_cid_codec *c, const uint8_t key[EMSE_CID_KEY_LEN],
			uint8_t node_id, uint32_t max_sessions)
{
	memset(c, 0, sizeof(*c));
	if (emse_cid_check_bits(EMSE_CID_MAX, max_sessions) < 0)
		return -1;
	unsigned sb = 0;
	while (sb < 32 && (1ull << sb) < max_sessions)
		sb++;
	c->slot_bits = (uint8_t)sb;
	c->node_id = node_id;
	memcpy(c->tweak, key + 16, 16);
	c->ni = emse_aesni_cpu();
	if (c->ni) {
		schedule_ni(c, key);
		return 0;
	}
	AES_KEY *a = calloc(1, sizeof(*a));
	if (!a || AES_set_encrypt_key(key, 128, a) != 0) {
		free(a);
		explicit_bzero(c, sizeof(*c));
		return -1;
	}
	c->wc = a;
	return 0;
}

void emse_cid_codec_wipe(struct emse_cid_codec *c)
{
	if (c->wc) {
		explicit_bzero(c->wc, sizeof(AES_KEY));
		free(c->wc);
	}
	explicit_bzero(c, sizeof(*c));
}

/* Round r's pad: AES_K(x || zeros || len || r ^ tweak), truncated by the caller (software AES:
 * the codec has no AES-NI; feistel_ni is the same on registers). */
static void round_fn(const struct emse_cid_codec *c, unsigned r, unsigned n, const uint8_t *x,
		     unsigned xl, uint8_t out[16])
{
	uint8_t blk[16] = {0};
	memcpy(blk, x, xl);
	blk[14] = (uint8_t)n;
	blk[15] = (uint8_t)r;
	for (int i = 0; i < 16; i++)
		blk[i] ^= c->tweak[i];
	AES_encrypt(blk, blk, c->wc);
	memcpy(out, blk, 16);
}

/* In place over b[n]: left = b[0..a), right = b[a..n), a = ceil(n/2). */
static void feistel(const struct emse_cid_codec *c, uint8_t *b, unsigned n, int decrypt)
{
	unsigned a = (n + 1) / 2, bl = n - a;
	uint8_t pad[16];
	for (unsigned k = 0; k < 4; k++) {
		unsigned r = decrypt ? 3 - k : k;
		if (r % 2 == 0) {
			round_fn(c, r, n, b, a, pad);
			for (unsigned i = 0; i < bl; i++)
				b[a + i] ^= pad[i];
		} else {
			round_fn(c, r, n, b + a, bl, pad);
			for (unsigned i = 0; i < a; i++)
				b[i] ^= pad[i];
		}
	}
}

uint32_t emse_cid_check_mask(const struct emse_cid_codec *c, unsigned len)
{
	int cb = (int)(8 * (len - 1)) - EMSE_CID_WORKER_BITS - c->slot_bits;
	cb = cb > EMSE_CID_CHECK_MAX ? EMSE_CID_CHECK_MAX : cb;
	return cb <= 0 ? 0 : cb >= 32 ? UINT32_MAX : ((uint32_t)1 << cb) - 1;
}

void emse_cid_encode(const struct emse_cid_codec *c, unsigned len, unsigned worker, uint32_t slot,
		     uint32_t check, uint8_t *out)
{
	unsigned n = len - 1, sb = c->slot_bits;
	u128 v = (u128)(worker & ((1u << EMSE_CID_WORKER_BITS) - 1)) |
		 (u128)slot << EMSE_CID_WORKER_BITS |
		 (u128)(check & emse_cid_check_mask(c, len)) << (EMSE_CID_WORKER_BITS + sb);
	out[0] = c->node_id;
	if (c->ni)
		v = permute_ni(c, v, n, 0);
	for (unsigned i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	if (!c->ni)
		feistel(c, out + 1, n, 0);
}

int emse_cid_decode(const struct emse_cid_codec *c, unsigned len, const uint8_t *cid,
		    unsigned *worker, uint32_t *slot, uint32_t *check)
{
	if (len < EMSE_CID_MIN || len > EMSE_CID_MAX || cid[0] != c->node_id)
		return -1;
	unsigned n = len - 1, sb = c->slot_bits;
	u128 v = 0;
	if (c->ni) {
		uint64_t lo = 0, hi = 0;
		memcpy(&lo, cid + 1, n < 8 ? n : 8);
		if (n > 8)
			memcpy(&hi, cid + 9, n - 8);
		v = permute_ni(c, (u128)hi << 64 | lo, n, 1);
	} else {
		uint8_t b[EMSE_CID_MAX];
		memcpy(b, cid + 1, n);
		feistel(c, b, n, 1);
		for (unsigned i = n; i-- > 0;)
			v = v << 8 | b[i];
	}
	uint32_t cmask = emse_cid_check_mask(c, len);
	unsigned cb = (unsigned)__builtin_popcount(cmask);
	unsigned used = EMSE_CID_WORKER_BITS + sb + cb;
	*worker = (unsigned)(v & ((1u << EMSE_CID_WORKER_BITS) - 1));
	*slot = (uint32_t)(v >> EMSE_CID_WORKER_BITS) & (uint32_t)(((uint64_t)1 << sb) - 1);
	*check = (uint32_t)(v >> (EMSE_CID_WORKER_BITS + sb)) & cmask;
	/* the zero bits: redundancy a forged CID must also hit */
	return used < 8 * n && (v >> used) != 0 ? -1 : 0;
}

void emse_cid_test_force_soft(struct emse_cid_codec *c, const uint8_t key[EMSE_CID_KEY_LEN])
{
	if (c->wc)
		return;
	AES_KEY *a = calloc(1, sizeof(*a));
	if (!a || AES_set_encrypt_key(key, 128, a) != 0) {
		free(a);
		return;
	}
	explicit_bzero(c->rk, sizeof(c->rk));
	c->wc = a;
	c->ni = 0;
}

int emse_cid_key_load(const char *path, uint8_t key[EMSE_CID_KEY_LEN], char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_size, "[cluster] cid_key_file: cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	uint8_t buf[EMSE_CID_KEY_LEN + 1];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int ok = n == EMSE_CID_KEY_LEN;
	if (ok)
		memcpy(key, buf, EMSE_CID_KEY_LEN);
	else
		snprintf(err, err_size, "[cluster] cid_key_file: %s must hold exactly %d bytes",
			 path, EMSE_CID_KEY_LEN);
	explicit_bzero(buf, sizeof(buf));
	return ok ? 0 : -1;
}
