/* AES-NI helpers shared by aesgcm.c and aesccm.c (internal to the dataplane). Everything here is
 * static inline and compiled for AES-NI + SSE4.1 (TARGET_BEGIN(NARROW)); callers must have
 * checked emse_aesni_cpu() before running any of it. */
#ifndef EMSE_AES_NI_H
#define EMSE_AES_NI_H

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Code for one instruction set, in a region: gcc and clang spell that differently. */
#define NARROW "aes,pclmul,sse4.1,ssse3"
#define WIDE NARROW ",avx2,avx512f,avx512bw,avx512vl,vaes,vpclmulqdq"
#define PRAGMA(x) _Pragma(#x)
#ifdef __clang__
#define TARGET_BEGIN(t) PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#define TARGET_END PRAGMA(clang attribute pop)
#else
#define TARGET_BEGIN(t) PRAGMA(GCC push_options) PRAGMA(GCC target(t))
#define TARGET_END PRAGMA(GCC pop_options)
#endif

/* AES-NI, PCLMULQDQ, SSE4.1 and SSSE3: what the NARROW code needs. Asked once per file that
 * includes this (CPUID traps to the hypervisor in a VM). */
static inline int emse_aesni_cpu(void)
{
	static int known = -1;
	if (known < 0) {
		unsigned a, b, c, d;
		known = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL) &&
			(c & bit_SSE4_1) && (c & bit_SSSE3);
	}
	return known;
}

TARGET_BEGIN(NARROW)

static inline __m128i load(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)(const void *)p); }
static inline void store(uint8_t *p, __m128i x) { _mm_storeu_si128((__m128i *)(void *)p, x); }

/* A 12-byte nonce in a register, bytes 12-15 zero. Two loads, each of which forwards from the
 * one 16-byte store record.c writes the nonce with; copied into a stack block and loaded whole,
 * the 16-byte load waited for the smaller stores to retire, ~14 ns a record (bench-record). */
static inline __m128i load_nonce12(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p + 8, 4);
	return _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p), (int)w, 2);
}

/* n < 8 bytes, little-endian, in a register: a partial block built in memory would cost a
 * failed store-to-load forward on every short record. */
static inline uint64_t get_upto7(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	unsigned sh = 0;
	if (n & 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		v = w;
		p += 4;
		sh = 32;
	}
	if (n & 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		v |= (uint64_t)w << sh;
		p += 2;
		sh += 16;
	}
	if (n & 1)
		v |= (uint64_t)*p << sh;
	return v;
}

/* 0 < n < 16 bytes, zero-padded to a block */
static inline __m128i load_partial(const uint8_t *p, size_t n)
{
	uint64_t lo, hi = 0;
	if (n >= 8) {
		memcpy(&lo, p, 8);
		hi = get_upto7(p + 8, n - 8);
	} else {
		lo = get_upto7(p, n);
	}
	return _mm_set_epi64x((long long)hi, (long long)lo);
}

static inline void store_partial(uint8_t *p, __m128i x, size_t n)
{
	uint8_t t[16];
	size_t i = 0;
	store(t, x);
	if (n & 8) {
		memcpy(p, t, 8);
		i = 8;
	}
	if (n & 4) {
		memcpy(p + i, t + i, 4);
		i += 4;
	}
	if (n & 2) {
		memcpy(p + i, t + i, 2);
		i += 2;
	}
	if (n & 1)
		p[i] = t[i];
}

static inline __m128i expand(__m128i key, __m128i gen)
{
	gen = _mm_shuffle_epi32(gen, 0xff);
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	return _mm_xor_si128(key, gen);
}

/* The AES-128 encryption schedule; the caller wipes rk when done with it. */
static inline void aes128_schedule(__m128i rk[11], const uint8_t key[16])
{
	rk[0] = load(key);
#define STEP(i, rcon) rk[i] = expand(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rcon))
	STEP(1, 0x01); STEP(2, 0x02); STEP(3, 0x04); STEP(4, 0x08); STEP(5, 0x10);
	STEP(6, 0x20); STEP(7, 0x40); STEP(8, 0x80); STEP(9, 0x1b); STEP(10, 0x36);
#undef STEP
}

static inline __m128i aes_one(const uint8_t (*rk)[16], __m128i x)
{
	x = _mm_xor_si128(x, load(rk[0]));
	for (int j = 1; j < 10; j++)
		x = _mm_aesenc_si128(x, load(rk[j]));
	return _mm_aesenclast_si128(x, load(rk[10]));
}

/* AES on m <= 8 blocks, interleaved so the rounds of different blocks overlap. */
static inline void aes_blocks(const uint8_t (*rk)[16], __m128i *b, unsigned m)
{
	__m128i r = load(rk[0]);
#pragma GCC unroll 8
	for (unsigned i = 0; i < m; i++)
		b[i] = _mm_xor_si128(b[i], r);
#pragma GCC unroll 9
	for (int j = 1; j < 10; j++) {
		r = load(rk[j]);
#pragma GCC unroll 8
		for (unsigned i = 0; i < m; i++)
			b[i] = _mm_aesenc_si128(b[i], r);
	}
	r = load(rk[10]);
#pragma GCC unroll 8
	for (unsigned i = 0; i < m; i++)
		b[i] = _mm_aesenclast_si128(b[i], r);
}

/* out = in ^ keystream for the blocks of [off, off + 16 m) that lie below n. */
__attribute__((always_inline)) static inline void xor_blocks(const uint8_t *in, uint8_t *out,
							     size_t off, size_t n,
							     const __m128i *ks, unsigned m)
{
	for (unsigned i = 0; i < m && off < n; i++, off += 16) {
		if (n - off >= 16) {
			store(out + off, _mm_xor_si128(load(in + off), ks[i]));
		} else {
			store_partial(out + off, _mm_xor_si128(load_partial(in + off, n - off), ks[i]),
				      n - off);
		}
	}
}

TARGET_END

#endif
