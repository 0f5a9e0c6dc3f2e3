/* AES-128-GCM for short records on AES-NI + PCLMULQDQ (include/emse/dtls/aesgcm.h says why).
 *
 * GHASH works in the byte-reflected domain of Gueron and Kounavis, "Intel Carry-Less
 * Multiplication Instruction and its Usage for Computing the GCM Mode" (rev. 2.02, 2014),
 * Figure 5: blocks are byte-swapped, products are shifted left one bit and reduced modulo
 * x^128 + x^7 + x^2 + x + 1. Reduction is linear, so up to eight products against H^8..H^1 are
 * summed unreduced and reduced once (the paper's aggregated reduction, section 5). */
#include <string.h>

#include "aes_ni.h"
#include "emse/dtls/aesgcm.h"
#include "emse/dtls/ct.h"

int emse_gcm_available(void)
{
	return emse_aesni_cpu();
}

/* AVX-512 (F, BW, VL) with VAES and VPCLMULQDQ, and the OS saving the zmm state. */
static int wide_supported(void)
{
	unsigned a, b, c, d, lo, hi;
	if (!emse_gcm_available() || !__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xe6) != 0xe6) /* SSE, AVX, opmask, upper zmm0-15, zmm16-31 */
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) && (c & bit_VAES) &&
	       (c & bit_VPCLMULQDQ);
}

/* Set once before main (no thread can race it); emse_gcm_set_wide changes it for tests. */
static int use_wide;

__attribute__((constructor)) static void pick_path(void)
{
	use_wide = wide_supported();
}

int emse_gcm_wide(void)
{
	return use_wide;
}

int emse_gcm_set_wide(int on)
{
	int was = use_wide;
	use_wide = on && wide_supported();
	return was;
}

void emse_gcm_wipe(struct emse_gcm_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

/* Everything below runs only where emse_gcm_available() said yes. */
TARGET_BEGIN(NARROW)

static inline __m128i bswap(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* One 256-bit carry-less product, as three 128-bit accumulators (low, middle, high). */
struct acc {
	__m128i lo, mid, hi;
};

static inline void clmul_acc(struct acc *s, __m128i a, __m128i b)
{
	s->lo = _mm_xor_si128(s->lo, _mm_clmulepi64_si128(a, b, 0x00));
	s->hi = _mm_xor_si128(s->hi, _mm_clmulepi64_si128(a, b, 0x11));
	s->mid = _mm_xor_si128(s->mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
						     _mm_clmulepi64_si128(a, b, 0x01)));
}

/* The paper's Figure 5 from the point where the product is in (tmp3, tmp6). */
static inline __m128i reduce(const struct acc *s)
{
	__m128i t3 = _mm_xor_si128(s->lo, _mm_slli_si128(s->mid, 8));
	__m128i t6 = _mm_xor_si128(s->hi, _mm_srli_si128(s->mid, 8));
	/* shift the 256-bit product left by one bit */
	__m128i t7 = _mm_srli_epi32(t3, 31), t8 = _mm_srli_epi32(t6, 31);
	t3 = _mm_slli_epi32(t3, 1);
	t6 = _mm_slli_epi32(t6, 1);
	__m128i t9 = _mm_srli_si128(t7, 12);
	t8 = _mm_slli_si128(t8, 4);
	t7 = _mm_slli_si128(t7, 4);
	t3 = _mm_or_si128(t3, t7);
	t6 = _mm_or_si128(_mm_or_si128(t6, t8), t9);
	/* reduce */
	t7 = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(t3, 31), _mm_slli_epi32(t3, 30)),
			   _mm_slli_epi32(t3, 25));
	t8 = _mm_srli_si128(t7, 4);
	t7 = _mm_slli_si128(t7, 12);
	t3 = _mm_xor_si128(t3, t7);
	__m128i t2 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(t3, 1), _mm_srli_epi32(t3, 2)),
				   _mm_srli_epi32(t3, 7));
	t2 = _mm_xor_si128(t2, t8);
	t3 = _mm_xor_si128(t3, t2);
	return _mm_xor_si128(t6, t3);
}

/* H^e, 1 <= e <= EMSE_GCM_HPOWERS */
static inline __m128i hpow(const struct emse_gcm_key *k, unsigned e)
{
	return load(k->hd[EMSE_GCM_HPOWERS - e]);
}

/* The lengths block, byte-reflected: bit lengths of the AAD (high half) and the text. */
static inline __m128i len_block(size_t aad_len, size_t n)
{
	return _mm_set_epi64x((long long)aad_len * 8, (long long)n * 8);
}

static inline __m128i gfmul(__m128i a, __m128i b)
{
	struct acc s = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
	clmul_acc(&s, a, b);
	return reduce(&s);
}

void emse_gcm_init(struct emse_gcm_key *k, const uint8_t key[16])
{
	__m128i rk[11];
	aes128_schedule(rk, key);
	__m128i h = rk[0];
	for (int r = 1; r < 10; r++)
		h = _mm_aesenc_si128(h, rk[r]);
	h = bswap(_mm_aesenclast_si128(h, rk[10]));
	for (int r = 0; r < 11; r++)
		store(k->rk[r], rk[r]);
	__m128i p = h;
	store(k->hd[EMSE_GCM_HPOWERS - 1], p);
	for (int e = 2; e <= EMSE_GCM_HPOWERS; e++) {
		p = gfmul(p, h);
		store(k->hd[EMSE_GCM_HPOWERS - e], p);
	}
	memset(k->hd[EMSE_GCM_HPOWERS], 0, sizeof(k->hd) - EMSE_GCM_HPOWERS * 16);
	/* the schedule and H also sit in these locals and in registers; the registers are
	 * overwritten soon enough, the stack copy is not */
	explicit_bzero(rk, sizeof(rk));
}

/* The fixed-count forms unroll fully; records of up to 7 blocks take one call. */
static inline void aes8(const struct emse_gcm_key *k, __m128i *b) { aes_blocks(k->rk, b, 8); }
static inline void aes4(const struct emse_gcm_key *k, __m128i *b) { aes_blocks(k->rk, b, 4); }

static inline void aes_some(const struct emse_gcm_key *k, __m128i *b, unsigned m)
{
	if (m <= 4)
		aes4(k, b);
	else
		aes8(k, b);
}

static inline __m128i ctr_block(__m128i base, uint32_t c)
{
	return _mm_insert_epi32(base, (int)__builtin_bswap32(c), 3);
}

/* GHASH with up to eight blocks pending, reduced once per eight. */
struct ghash {
	__m128i y;
	__m128i x[EMSE_GCM_HPOWERS];
	unsigned n;
};

static inline void gh_flush(const struct emse_gcm_key *k, struct ghash *g)
{
	unsigned m = g->n;
	if (!m)
		return;
	struct acc s = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
	clmul_acc(&s, _mm_xor_si128(g->x[0], g->y), hpow(k, m));
	for (unsigned i = 1; i < m; i++)
		clmul_acc(&s, g->x[i], hpow(k, m - i));
	g->y = reduce(&s);
	g->n = 0;
}

static inline void gh_push(const struct emse_gcm_key *k, struct ghash *g, __m128i block)
{
	g->x[g->n++] = bswap(block);
	if (g->n == EMSE_GCM_HPOWERS)
		gh_flush(k, g);
}

static inline void gh_bytes(const struct emse_gcm_key *k, struct ghash *g, const uint8_t *p,
			    size_t n)
{
	size_t i = 0;
	for (; n - i >= 16; i += 16)
		gh_push(k, g, load(p + i));
	if (i < n)
		gh_push(k, g, load_partial(p + i, n - i));
}

/* GHASH(aad, c) ^ E(J0) */
static __m128i tag_of(const struct emse_gcm_key *k, const uint8_t *aad, size_t aad_len,
		      const uint8_t *c, size_t n, __m128i ek_j0)
{
	struct ghash g;
	g.y = _mm_setzero_si128();
	g.n = 0;
	gh_bytes(k, &g, aad, aad_len);
	gh_bytes(k, &g, c, n);
	uint8_t len[16];
	uint64_t abits = (uint64_t)aad_len * 8, cbits = (uint64_t)n * 8;
	for (int i = 7; i >= 0; i--, abits >>= 8, cbits >>= 8) {
		len[i] = (uint8_t)abits;
		len[8 + i] = (uint8_t)cbits;
	}
	gh_push(k, &g, load(len));
	gh_flush(k, &g);
	return _mm_xor_si128(bswap(g.y), ek_j0);
}

/* Keystream of the blocks past the first batch, applied to in -> out. */
static void ctr_rest(const struct emse_gcm_key *k, __m128i base, const uint8_t *in, uint8_t *out,
		     size_t n)
{
	__m128i b[8];
	uint32_t c = 2 + 7;
	for (size_t off = 7 * 16; off < n; off += 8 * 16) {
		size_t left = (n - off + 15) / 16;
		unsigned m = left < 8 ? (unsigned)left : 8;
		for (unsigned i = 0; i < (m <= 4 ? 4u : 8u); i++)
			b[i] = ctr_block(base, c + i);
		aes_some(k, b, m);
		xor_blocks(in, out, off, n, b, m);
		c += m;
	}
}

/* E(J0) and the keystream of data blocks 1..7 (counters 2..8), in one batch. */
__attribute__((always_inline)) static inline unsigned first_batch(const struct emse_gcm_key *k, __m128i base, size_t n, __m128i b[8])
{
	size_t nb = (n + 15) / 16;
	unsigned m = nb < 7 ? (unsigned)nb : 7;
	/* a whole batch of counters: the unused ones cost less than a branchy loop */
#pragma GCC unroll 8
	for (unsigned i = 0; i < 8; i++)
		b[i] = ctr_block(base, 1 + i);
	aes_some(k, b, m + 1);
	return m;
}

/* Records of up to 7 blocks with up to EMSE_GCM_SHORT_AAD bytes of AAD (every DTLS record up to
 * 112 bytes, with or without a CID): at most 11 GHASH blocks, all multiplied by their own power
 * of H and reduced once. */
#define SHORT_MAX (7 * 16)

static inline int is_short(size_t aad_len, size_t n)
{
	return n <= SHORT_MAX && aad_len <= EMSE_GCM_SHORT_AAD;
}

__attribute__((always_inline)) static inline __m128i tag_short(const struct emse_gcm_key *k, const uint8_t *aad, size_t aad_len,
				const uint8_t *c, size_t n, __m128i ek_j0)
{
	size_t full = n / 16, rest = n % 16;
	/* the power of H for the first block: one per block after it */
	unsigned e = (unsigned)(full + (rest != 0) + (aad_len + 15) / 16) + 1;
	struct acc s = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
#pragma GCC unroll 3
	for (size_t i = 0; i < aad_len; i += 16)
		clmul_acc(&s, bswap(aad_len - i >= 16 ? load(aad + i) : load_partial(aad + i, aad_len - i)),
			  hpow(k, e--));
#pragma GCC unroll 7
	for (size_t i = 0; i < full; i++)
		clmul_acc(&s, bswap(load(c + 16 * i)), hpow(k, e--));
	if (rest)
		clmul_acc(&s, bswap(load_partial(c + 16 * full, rest)), hpow(k, e--));
	clmul_acc(&s, len_block(aad_len, n), hpow(k, 1));
	return _mm_xor_si128(bswap(reduce(&s)), ek_j0);
}

static inline __m128i tag_any(const struct emse_gcm_key *k, const uint8_t *aad, size_t aad_len,
			      const uint8_t *c, size_t n, __m128i ek_j0)
{
	if (is_short(aad_len, n))
		return tag_short(k, aad, aad_len, c, n, ek_j0);
	return tag_of(k, aad, aad_len, c, n, ek_j0);
}

TARGET_END
/* ---- short records, 4 blocks per instruction (VAES, VPCLMULQDQ, AVX-512 masks) ------------- */
TARGET_BEGIN(WIDE)

/* Data blocks 1-4 and 5-7 under counters 2-5 and 6-9 (the last lane of the second is unused),
 * and E(J0), through the ten rounds together. */
struct ks_wide {
	__m512i a, b;
	__m128i j0;
};

static inline void keystream_wide(const struct emse_gcm_key *k, const uint8_t nonce[12],
				  struct ks_wide *ks)
{
	__m128i base = load_nonce12(nonce);
	__m512i wb = _mm512_broadcast_i32x4(base);
	/* counters are big-endian in the last word of each block */
	const __m512i ca = _mm512_set_epi32(0x05000000, 0, 0, 0, 0x04000000, 0, 0, 0, 0x03000000, 0,
					    0, 0, 0x02000000, 0, 0, 0);
	const __m512i cbv = _mm512_set_epi32(0x09000000, 0, 0, 0, 0x08000000, 0, 0, 0, 0x07000000, 0,
					     0, 0, 0x06000000, 0, 0, 0);
	__m512i a = _mm512_or_si512(wb, ca), b = _mm512_or_si512(wb, cbv);
	__m128i j = _mm_insert_epi32(base, 0x01000000, 3);
	__m128i r = load(k->rk[0]);
	__m512i wr = _mm512_broadcast_i32x4(r);
	a = _mm512_xor_si512(a, wr);
	b = _mm512_xor_si512(b, wr);
	j = _mm_xor_si128(j, r);
#pragma GCC unroll 9
	for (int i = 1; i < 10; i++) {
		r = load(k->rk[i]);
		wr = _mm512_broadcast_i32x4(r);
		a = _mm512_aesenc_epi128(a, wr);
		b = _mm512_aesenc_epi128(b, wr);
		j = _mm_aesenc_si128(j, r);
	}
	r = load(k->rk[10]);
	wr = _mm512_broadcast_i32x4(r);
	ks->a = _mm512_aesenclast_epi128(a, wr);
	ks->b = _mm512_aesenclast_epi128(b, wr);
	ks->j0 = _mm_aesenclast_si128(j, r);
}

static inline __m128i fold4(__m512i x)
{
	__m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
	return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

static inline __m512i bswap_wide(__m512i x)
{
	const __m512i m = _mm512_broadcast_i32x4(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	return _mm512_shuffle_epi8(x, m);
}

static inline __mmask64 mask_upto(size_t n)
{
	return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
}

/* The tag of a record whose text (n <= 112 bytes, zero past n) is in c0 (bytes 0-63) and c1
 * (64-127). Block i of the text takes H^(t - i), t = blocks of text + 1; AAD block i (of na)
 * H^(t + na - i). */
static inline __m128i tag_wide(const struct emse_gcm_key *k, const uint8_t *aad, size_t aad_len,
			       __m512i c0, __m512i c1, size_t n, __m128i ek_j0)
{
	unsigned t = (unsigned)((n + 15) / 16) + 1;
	/* hd[HPOWERS - e] = H^e, zero blocks past H^1: four descending powers from any start */
	__m512i h0 = _mm512_loadu_si512((const void *)k->hd[EMSE_GCM_HPOWERS - t]);
	__m512i h1 = _mm512_loadu_si512((const void *)k->hd[EMSE_GCM_HPOWERS + 4 - t]);
	c0 = bswap_wide(c0);
	c1 = bswap_wide(c1);
	__m512i lo = _mm512_xor_si512(_mm512_clmulepi64_epi128(c0, h0, 0x00),
				      _mm512_clmulepi64_epi128(c1, h1, 0x00));
	__m512i hi = _mm512_xor_si512(_mm512_clmulepi64_epi128(c0, h0, 0x11),
				      _mm512_clmulepi64_epi128(c1, h1, 0x11));
	__m512i mid = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(c0, h0, 0x01),
						_mm512_clmulepi64_epi128(c0, h0, 0x10),
						_mm512_clmulepi64_epi128(c1, h1, 0x01), 0x96);
	mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(c1, h1, 0x10));
	if (aad_len > 16) {
		/* two or three AAD blocks in one register, zero past aad_len; loaded a block at a time,
		 * as the caller stores them (record.c), so that each load forwards from its store */
		unsigned na = (unsigned)(aad_len + 15) / 16;
		__m512i a = _mm512_castsi128_si512(load(aad));
		a = _mm512_inserti32x4(a, _mm_maskz_loadu_epi8((__mmask16)mask_upto(aad_len - 16), aad + 16), 1);
		if (na > 2)
			a = _mm512_inserti32x4(a, _mm_maskz_loadu_epi8((__mmask16)mask_upto(aad_len - 32), aad + 32), 2);
		a = bswap_wide(a);
		__m512i ha = _mm512_loadu_si512((const void *)k->hd[EMSE_GCM_HPOWERS - t - na]);
		lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(a, ha, 0x00));
		hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(a, ha, 0x11));
		mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(a, ha, 0x01),
						_mm512_clmulepi64_epi128(a, ha, 0x10), 0x96);
	}
	struct acc s = {fold4(lo), fold4(mid), fold4(hi)};
	if (aad_len && aad_len <= 16) {
		__mmask16 am = (__mmask16)((1u << aad_len) - 1);
		clmul_acc(&s, bswap(_mm_maskz_loadu_epi8(am, aad)), hpow(k, t + 1));
	}
	clmul_acc(&s, len_block(aad_len, n), hpow(k, 1));
	return _mm_xor_si128(bswap(reduce(&s)), ek_j0);
}

static void seal_wide(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		      size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	struct ks_wide ks;
	keystream_wide(k, nonce, &ks);
	__mmask64 m0 = mask_upto(n), m1 = n > 64 ? mask_upto(n - 64) : 0;
	/* the text is zero past n, as GHASH pads it */
	__m512i c0 = _mm512_maskz_mov_epi8(m0, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m0, in), ks.a));
	__m512i c1 = _mm512_maskz_mov_epi8(m1, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m1, in + 64),
								 ks.b));
	_mm512_mask_storeu_epi8(out, m0, c0);
	_mm512_mask_storeu_epi8(out + 64, m1, c1);
	store(tag, tag_wide(k, aad, aad_len, c0, c1, n, ks.j0));
}

static int open_wide(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		     size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, const uint8_t tag[16])
{
	struct ks_wide ks;
	keystream_wide(k, nonce, &ks);
	__mmask64 m0 = mask_upto(n), m1 = n > 64 ? mask_upto(n - 64) : 0;
	__m512i c0 = _mm512_maskz_loadu_epi8(m0, in), c1 = _mm512_maskz_loadu_epi8(m1, in + 64);
	__m128i d = _mm_xor_si128(tag_wide(k, aad, aad_len, c0, c1, n, ks.j0), load(tag));
	int bad = !_mm_testz_si128(d, d);
	EMSE_CT_PUBLIC(bad);
	if (bad)
		return -1;
	_mm512_mask_storeu_epi8(out, m0, _mm512_xor_si512(c0, ks.a));
	_mm512_mask_storeu_epi8(out + 64, m1, _mm512_xor_si512(c1, ks.b));
	return 0;
}

TARGET_END

TARGET_BEGIN(NARROW)

void emse_gcm_seal(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	if (use_wide && is_short(aad_len, n)) {
		seal_wide(k, nonce, aad, aad_len, in, n, out, tag);
		return;
	}
	__m128i base = load_nonce12(nonce), b[8];
	unsigned m = first_batch(k, base, n, b);
	xor_blocks(in, out, 0, n, b + 1, m);
	if (n > SHORT_MAX)
		ctr_rest(k, base, in, out, n);
	store(tag, tag_any(k, aad, aad_len, out, n, b[0]));
}

int emse_gcm_open(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, const uint8_t tag[16])
{
	if (use_wide && is_short(aad_len, n))
		return open_wide(k, nonce, aad, aad_len, in, n, out, tag);
	__m128i base = load_nonce12(nonce), b[8];
	/* the keystream does not depend on the data, so it overlaps GHASH */
	unsigned m = first_batch(k, base, n, b);
	__m128i d = _mm_xor_si128(tag_any(k, aad, aad_len, in, n, b[0]), load(tag));
	int bad = !_mm_testz_si128(d, d); /* the verdict, not where the tags differ */
	EMSE_CT_PUBLIC(bad);
	if (bad)
		return -1;
	xor_blocks(in, out, 0, n, b + 1, m);
	if (n > SHORT_MAX)
		ctr_rest(k, base, in, out, n);
	return 0;
}

TARGET_END
