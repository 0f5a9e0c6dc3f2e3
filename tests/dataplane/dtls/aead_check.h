/* Checks shared by test_aesgcm.c and test_aesccm.c: an AEAD of ours against a reference (wolfCrypt)
 * on random inputs, and forgeries refused without writing the output. The AEAD is described by
 * struct aead_ops (tests/aead_ops.h). Include after cmocka.h. */
#ifndef EMSE_TEST_AEAD_CHECK_H
#define EMSE_TEST_AEAD_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../aead_ops.h"

#define AEAD_MAXN 300

static inline size_t aead_unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static uint64_t aead_rng = 0x9e3779b97f4a7c15ULL;
static inline void aead_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		aead_rng ^= aead_rng << 13;
		aead_rng ^= aead_rng >> 7;
		aead_rng ^= aead_rng << 17;
		p[i] = (uint8_t)aead_rng;
	}
}

/* Random key, nonce, AAD of each length in ans, plaintext of every length 0-300: ours and the
 * reference agree on ciphertext and tag, in place too, and ours opens what it sealed. */
static inline void aead_check_reference(const struct aead_ops *o, const size_t *ans, size_t n_ans)
{
	_Alignas(64) uint8_t key[AEAD_KEY_MAX];
	for (size_t n = 0; n <= AEAD_MAXN; n++) {
		for (size_t ai = 0; ai < n_ans; ai++) {
			size_t an = ans[ai];
			uint8_t k[16], iv[12], a[64], p[AEAD_MAXN + 1], c1[AEAD_MAXN + 1],
				c2[AEAD_MAXN + 1], t1[16], t2[16], io[AEAD_MAXN + 1];
			assert_true(an <= sizeof(a));
			aead_fill(k, 16);
			aead_fill(iv, 12);
			aead_fill(a, an);
			aead_fill(p, n);
			o->init(key, k);
			assert_int_equal(o->ref_seal(k, iv, a, an, p, n, c1, t1), 0);
			assert_int_equal(o->seal(key, iv, a, an, p, n, c2, t2), 0);
			assert_memory_equal(c1, c2, n);
			assert_memory_equal(t1, t2, o->tag_len);
			memcpy(io, p, n);
			assert_int_equal(o->seal(key, iv, a, an, io, n, io, t2), 0);
			assert_memory_equal(io, c1, n);
			assert_memory_equal(t1, t2, o->tag_len);
			assert_int_equal(o->open(key, iv, a, an, io, n, io, t1), 0);
			assert_memory_equal(io, p, n);
			o->wipe(key);
		}
	}
}

/* Every flipped bit of the tag, of the first, middle and last ciphertext byte, of the AAD and
 * of some nonce bits is refused and the output keeps its bytes; a shorter length over the same
 * bytes is another message; the genuine record still opens. */
static inline void aead_check_forgeries(const struct aead_ops *o)
{
	static const size_t sizes[] = {1, 15, 16, 17, 100, 112, 113, 129, 300};
	_Alignas(64) uint8_t key[AEAD_KEY_MAX];
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		uint8_t k[16], iv[12], a[13], p[AEAD_MAXN], c[AEAD_MAXN], t[16], out[AEAD_MAXN],
			mark[AEAD_MAXN];
		aead_fill(k, 16);
		aead_fill(iv, 12);
		aead_fill(a, 13);
		aead_fill(p, n);
		memset(mark, 0x5a, sizeof(mark));
		o->init(key, k);
		assert_int_equal(o->seal(key, iv, a, 13, p, n, c, t), 0);
		for (unsigned bit = 0; bit < 8 * o->tag_len; bit++) {
			t[bit / 8] ^= (uint8_t)(1u << bit % 8);
			memcpy(out, mark, n);
			assert_int_equal(o->open(key, iv, a, 13, c, n, out, t), -1);
			assert_memory_equal(out, mark, n);
			t[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		const size_t at[] = {0, n / 2, n - 1};
		for (size_t i = 0; i < 3; i++)
			for (int bit = 0; bit < 8; bit++) {
				c[at[i]] ^= (uint8_t)(1u << bit);
				memcpy(out, mark, n);
				assert_int_equal(o->open(key, iv, a, 13, c, n, out, t), -1);
				assert_memory_equal(out, mark, n);
				c[at[i]] ^= (uint8_t)(1u << bit);
			}
		for (int bit = 0; bit < 13 * 8; bit++) {
			a[bit / 8] ^= (uint8_t)(1u << bit % 8);
			assert_int_equal(o->open(key, iv, a, 13, c, n, out, t), -1);
			a[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		for (int bit = 0; bit < 12 * 8; bit += 7) {
			iv[bit / 8] ^= (uint8_t)(1u << bit % 8);
			assert_int_equal(o->open(key, iv, a, 13, c, n, out, t), -1);
			iv[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		assert_int_equal(o->open(key, iv, a, 13, c, n - 1, out, t), -1);
		assert_int_equal(o->open(key, iv, a, 13, c, n, out, t), 0);
		assert_memory_equal(out, p, n);
		o->wipe(key);
	}
}

#endif
