/* dataplane/dtls/cid.c: our Connection IDs round-trip, every slot gets its own CID, the node octet is
 * in the clear, a changed octet never decodes to the same session, and the configuration limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emse/dtls/cid.h"

static const uint8_t key[EMSE_CID_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
					       16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
					       29, 30, 31, 32};

static void test_check_bits(void **state)
{
	(void)state;
	/* 8 octets: 56 bits = 6 worker + 16 slot (65536) + 16 check (+18 zero) */
	assert_int_equal(emse_cid_check_bits(8, 65536), 16);
	assert_int_equal(emse_cid_check_bits(4, 65536), 2);
	assert_int_equal(emse_cid_check_bits(4, 262144), 0);
	assert_int_equal(emse_cid_check_bits(4, 262145), -1);
	assert_int_equal(emse_cid_check_bits(5, 1u << 20), 6);
	assert_int_equal(emse_cid_check_bits(3, 16), -1);
	assert_int_equal(emse_cid_check_bits(17, 16), -1);
}

/* every length: encode -> decode gives back the fields; node octet plaintext */
static void test_round_trip(void **state)
{
	(void)state;
	struct emse_cid_codec c;
	assert_int_equal(emse_cid_codec_init(&c, key, 0xa5, 65536), 0);
	for (unsigned len = 4; len <= 16; len++) {
		uint32_t mask = emse_cid_check_mask(&c, len);
		for (unsigned i = 0; i < 200; i++) {
			unsigned w = i % 64, ww;
			uint32_t slot = (i * 2654435761u) & 0xffff, s2, chk = i * 0x9e3779b9u, c2;
			uint8_t cid[16];
			emse_cid_encode(&c, len, w, slot, chk, cid);
			assert_int_equal(cid[0], 0xa5);
			assert_int_equal(emse_cid_decode(&c, len, cid, &ww, &s2, &c2), 0);
			assert_int_equal(ww, w);
			assert_int_equal(s2, slot);
			assert_int_equal(c2, chk & mask);
		}
	}
	emse_cid_codec_wipe(&c);
}

/* 65536 slots of one worker: 65536 different CIDs; and the body is not the plaintext */
static int cmp8(const void *a, const void *b) { return memcmp(a, b, 8); }
static void test_every_slot_distinct(void **state)
{
	(void)state;
	struct emse_cid_codec c;
	assert_int_equal(emse_cid_codec_init(&c, key, 1, 65536), 0);
	uint8_t(*all)[8] = calloc(65536, 8);
	assert_non_null(all);
	unsigned clear = 0;
	for (uint32_t s = 0; s < 65536; s++) {
		emse_cid_encode(&c, 8, 3, s, 0, all[s]);
		/* plaintext octet 1 would be worker 3 | slot's low 2 bits << 6 */
		clear += all[s][1] == (uint8_t)(3 | (s & 3) << 6);
	}
	assert_true(clear < 65536 / 64); /* ~1/256 by chance */
	qsort(all, 65536, 8, cmp8);
	for (uint32_t s = 1; s < 65536; s++)
		assert_true(memcmp(all[s - 1], all[s], 8) != 0);
	free(all);
	emse_cid_codec_wipe(&c);
}

/* One flipped bit anywhere: either refused, or a different (worker, slot, check) */
static void test_bit_flip(void **state)
{
	(void)state;
	struct emse_cid_codec c;
	assert_int_equal(emse_cid_codec_init(&c, key, 9, 1u << 20), 0);
	for (unsigned len = 5; len <= 16; len += 3) {
		uint8_t cid[16], x[16];
		emse_cid_encode(&c, len, 5, 123456, 0xdeadbeef, cid);
		unsigned refused = 0;
		for (unsigned bit = 0; bit < 8 * len; bit++) {
			memcpy(x, cid, len);
			x[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			unsigned w;
			uint32_t s, k;
			if (emse_cid_decode(&c, len, x, &w, &s, &k) != 0) {
				refused++;
				continue;
			}
			assert_false(w == 5 && s == 123456 &&
				     k == (0xdeadbeef & emse_cid_check_mask(&c, len)));
		}
		/* the node octet's 8 bits at least */
		assert_true(refused >= 8);
	}
	emse_cid_codec_wipe(&c);
}

/* Another key or node: another CID; a CID of another node is refused */
static void test_key_and_node(void **state)
{
	(void)state;
	struct emse_cid_codec a, b;
	uint8_t k2[EMSE_CID_KEY_LEN];
	memcpy(k2, key, sizeof(k2));
	k2[31] ^= 1; /* the tweak half matters too */
	assert_int_equal(emse_cid_codec_init(&a, key, 1, 4096), 0);
	assert_int_equal(emse_cid_codec_init(&b, k2, 2, 4096), 0);
	uint8_t ca[8], cb[8];
	emse_cid_encode(&a, 8, 1, 77, 42, ca);
	emse_cid_encode(&b, 8, 1, 77, 42, cb);
	assert_memory_not_equal(ca + 1, cb + 1, 7);
	unsigned w;
	uint32_t s, k;
	assert_int_equal(emse_cid_decode(&b, 8, ca, &w, &s, &k), -1);
	emse_cid_codec_wipe(&a);
	emse_cid_codec_wipe(&b);
	/* the software fallback answers as AES-NI does */
	assert_int_equal(emse_cid_codec_init(&a, key, 1, 4096), 0);
	assert_int_equal(emse_cid_codec_init(&b, key, 1, 4096), 0);
	if (a.ni) {
		emse_cid_codec_wipe(&b);
		b.ni = 0;
		/* rebuild b as the fallback */
		assert_int_equal(emse_cid_codec_init(&b, key, 1, 4096), 0);
		emse_cid_test_force_soft(&b, key);
		/* every length: the halves' shuffles against the byte-wise network */
		for (unsigned len = 4; len <= 16; len++) {
			uint8_t x[16], y[16];
			unsigned w;
			uint32_t sl, k;
			emse_cid_encode(&a, len, 1, 77, 42, x);
			emse_cid_encode(&b, len, 1, 77, 42, y);
			assert_memory_equal(x, y, len);
			assert_int_equal(emse_cid_decode(&b, len, x, &w, &sl, &k), 0);
			assert_int_equal(sl, 77);
		}
	}
	emse_cid_codec_wipe(&a);
	emse_cid_codec_wipe(&b);
}

/* 1 M random CIDs against 65536 live sessions of 8 octets: none decodes to a live one. */
static void test_guessing(void **state)
{
	(void)state;
	struct emse_cid_codec c;
	assert_int_equal(emse_cid_codec_init(&c, key, 0, 65536), 0);
	uint64_t x = 88172645463325252ull;
	unsigned decoded = 0;
	for (unsigned i = 0; i < 1000000; i++) {
		uint8_t g[8];
		g[0] = 0;
		for (int j = 1; j < 8; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			g[j] = (uint8_t)x;
		}
		unsigned w;
		uint32_t s, k;
		if (emse_cid_decode(&c, 8, g, &w, &s, &k) != 0)
			continue;
		decoded++;
		/* every session of worker 0..1 has check bits = its slot (a stand-in for random) */
		assert_false(w < 2 && k == s);
	}
	/* 18 zero bits: about 1 M / 2^18 decode at all */
	assert_true(decoded < 20);
	emse_cid_codec_wipe(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_bits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_slot_distinct),
		cmocka_unit_test(test_bit_flip),
		cmocka_unit_test(test_key_and_node),
		cmocka_unit_test(test_guessing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
