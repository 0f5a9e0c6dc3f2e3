/* AES-128-CCM-8 with 12-byte nonces on AES-NI (include/emse/dtls/aesccm.h says why).
 *
 * RFC 3610: B0 = flags || nonce || length (3 bytes); the AAD is prefixed with its two-byte
 * length and zero-padded; the CBC-MAC runs over B0, the AAD blocks and the zero-padded
 * plaintext; A_i = (L - 1) || nonce || i (3 bytes); the tag is the first 8 bytes of
 * MAC ^ E(A_0), the text is XORed with E(A_1), E(A_2), ... */
#include <string.h>

#include "aes_ni.h"
#include "emse/dtls/aesccm.h"
#include "emse/dtls/ct.h"

int emse_ccm_available(void)
{
	return emse_aesni_cpu();
}

void emse_ccm_wipe(struct emse_ccm_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

TARGET_BEGIN(NARROW)

void emse_ccm_init(struct emse_ccm_key *k, const uint8_t key[16])
{
	__m128i rk[11];
	aes128_schedule(rk, key);
	for (int r = 0; r < 11; r++)
		store(k->rk[r], rk[r]);
	explicit_bzero(rk, sizeof(rk));
}

/* Counter blocks: byte 0 is L - 1 = 2, bytes 1-12 the nonce, 13-15 the counter (big-endian).
 * The last word holds nonce[11] in its low byte and the counter above it. */
struct ctr {
	__m128i base;
	uint32_t last;
};

/* flag byte || nonce || 0 0 0, in registers (load_nonce12 says why) */
static inline __m128i nonce_block(const uint8_t nonce[12], uint8_t flags)
{
	return _mm_insert_epi8(_mm_slli_si128(load_nonce12(nonce), 1), flags, 0);
}

static inline struct ctr ctr_of(const uint8_t nonce[12])
{
	return (struct ctr){nonce_block(nonce, 2), nonce[11]};
}

/* E(A_first) .. E(A_first + 7); the first m are used (m <= 4 encrypts four) */
static inline void keystream(const uint8_t (*rk)[16], const struct ctr *c, uint32_t first,
			     __m128i ks[8], unsigned m)
{
#pragma GCC unroll 8
	for (unsigned i = 0; i < 8; i++)
		ks[i] = _mm_insert_epi32(c->base, (int)(c->last | __builtin_bswap32(first + i)), 3);
	aes_blocks(rk, ks, m <= 4 ? 4 : 8);
}

/* The MAC state after B0 and the AAD. */
static inline __m128i mac_head(const uint8_t (*rk)[16], const uint8_t nonce[12],
			       const uint8_t *aad, size_t aad_len, size_t n)
{
	__m128i b0 = nonce_block(nonce, (uint8_t)((aad_len ? 0x40 : 0) | ((8 - 2) / 2) << 3 | (3 - 1)));
	/* bytes 13-15: the length (< 2^24), big-endian, after nonce[11] */
	b0 = _mm_insert_epi32(b0, (int)(nonce[11] | __builtin_bswap32((uint32_t)n)), 3);
	__m128i x = aes_one(rk, b0);
	if (!aad_len)
		return x;
	/* the first AAD block: the length, then up to 14 bytes */
	size_t first = aad_len < 14 ? aad_len : 14;
	__m128i a = _mm_slli_si128(load_partial(aad, first), 2);
	a = _mm_insert_epi16(a, __builtin_bswap16((uint16_t)aad_len), 0);
	x = aes_one(rk, _mm_xor_si128(x, a));
	for (size_t off = 14; off < aad_len; off += 16) {
		size_t r = aad_len - off;
		x = aes_one(rk, _mm_xor_si128(x, r >= 16 ? load(aad + off) : load_partial(aad + off, r)));
	}
	return x;
}

static inline __m128i mask_of(size_t r)
{
	static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	return load_partial(ones, r);
}

int emse_ccm8_seal(const struct emse_ccm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[8])
{
	if (aad_len > EMSE_CCM_MAX_AAD || n > EMSE_CCM_MAX_TEXT)
		return -1;
	const uint8_t (*rk)[16] = k->rk;
	struct ctr c = ctr_of(nonce);
	__m128i ks[8];
	size_t nb = (n + 15) / 16;
	/* E(A_0) and the first seven blocks' keystream: independent of the MAC chain below, so
	 * the core runs them beside it */
	keystream(rk, &c, 0, ks, (unsigned)(nb < 7 ? nb : 7) + 1);
	__m128i x = mac_head(rk, nonce, aad, aad_len, n);
	/* the whole plaintext is MACed before anything is written: out may be in */
	size_t off = 0;
	for (; n - off >= 16; off += 16)
		x = aes_one(rk, _mm_xor_si128(x, load(in + off)));
	if (off < n)
		x = aes_one(rk, _mm_xor_si128(x, load_partial(in + off, n - off)));
	_mm_storel_epi64((__m128i *)(void *)tag, _mm_xor_si128(x, ks[0]));
	xor_blocks(in, out, 0, n, ks + 1, 7);
	for (off = 7 * 16; off < n; off += 8 * 16) {
		size_t left = (n - off + 15) / 16;
		keystream(rk, &c, (uint32_t)(off / 16) + 1, ks, left < 8 ? (unsigned)left : 8);
		xor_blocks(in, out, off, n, ks, 8);
	}
	return 0;
}

int emse_ccm8_open(const struct emse_ccm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, const uint8_t tag[8])
{
	if (aad_len > EMSE_CCM_MAX_AAD || n > EMSE_CCM_MAX_TEXT)
		return -1;
	const uint8_t (*rk)[16] = k->rk;
	struct ctr c = ctr_of(nonce);
	__m128i ks[8], kt[8];
	size_t nb = (n + 15) / 16;
	keystream(rk, &c, 0, ks, (unsigned)(nb < 7 ? nb : 7) + 1);
	__m128i x = mac_head(rk, nonce, aad, aad_len, n);
	/* first pass: decrypt into registers only, to MAC the plaintext; block i takes
	 * cur[i - from] (blocks 0-6 from the first batch, then batches of eight) */
	const __m128i *cur = ks + 1;
	size_t from = 0;
	for (size_t off = 0, i = 0; off < n; off += 16, i++) {
		if (i >= 7 && (i - 7) % 8 == 0) {
			size_t left = (n - off + 15) / 16;
			keystream(rk, &c, (uint32_t)i + 1, kt, left < 8 ? (unsigned)left : 8);
			cur = kt;
			from = i;
		}
		__m128i ki = cur[i - from];
		__m128i p = n - off >= 16 ? _mm_xor_si128(load(in + off), ki)
					  : _mm_and_si128(_mm_xor_si128(load_partial(in + off, n - off), ki),
							  mask_of(n - off));
		x = aes_one(rk, _mm_xor_si128(x, p));
	}
	__m128i d = _mm_xor_si128(_mm_xor_si128(x, ks[0]), _mm_loadl_epi64((const __m128i *)(const void *)tag));
	int bad = _mm_cvtsi128_si64(d) != 0; /* the verdict, not where the tags differ */
	EMSE_CT_PUBLIC(bad);
	if (bad)
		return -1;
	/* second pass: the tag verified, write the plaintext */
	xor_blocks(in, out, 0, n, ks + 1, 7);
	for (size_t off = 7 * 16; off < n; off += 8 * 16) {
		size_t left = (n - off + 15) / 16;
		keystream(rk, &c, (uint32_t)(off / 16) + 1, ks, left < 8 ? (unsigned)left : 8);
		xor_blocks(in, out, off, n, ks, 8);
	}
	return 0;
}

TARGET_END
