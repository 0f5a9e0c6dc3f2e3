/* dataplane/dtls/aesgcm.c, both its paths (SSE with AES-NI, and AVX-512 with VAES where the CPU has
 * it; every test runs each path the machine has): NIST's GCM test vectors (McGrew and Viega, "The Galois/Counter Mode of
 * Operation", test cases 1-4, AES-128), then against wolfCrypt's AES-GCM on random keys, nonces,
 * AAD of 0-64 bytes and plaintext of every length 0-300 (every batch and partial-block boundary), in
 * place and not; any flipped bit of tag, ciphertext, AAD or nonce is refused without writing the
 * output (aead_check.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emse/dtls/aesgcm.h"
#include "aead_check.h"

static int setup(void **state)
{
	(void)state;
	if (!emse_gcm_available()) {
		/* the record layer falls back to wolfCrypt there; nothing of this file runs */
		fprintf(stderr, "no AES-NI/PCLMULQDQ on this CPU: aesgcm tests skipped\n");
		skip();
	}
	return 0;
}

struct vec {
	const char *k, *iv, *p, *a, *c, *t;
};

static const struct vec nist[] = {
	{"00000000000000000000000000000000", "000000000000000000000000", "", "", "",
	 "58e2fccefa7e3061367f1d57a4e7455a"},
	{"00000000000000000000000000000000", "000000000000000000000000",
	 "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78",
	 "ab6e47d42cec13bdf53a67b21257bddf"},
	{"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	 "",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	 "4d5c2af327cd64a62cf35abd2ba6fab4"},
	{"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	 "5bc94fbc3221a5db94fae95ae7121a47"},
};

static void test_nist_vectors(void **state)
{
	(void)state;
	for (size_t v = 0; v < sizeof(nist) / sizeof(nist[0]); v++) {
		uint8_t k[16], iv[12], p[64], a[20], c[64], t[16], out[64], tag[16];
		aead_unhex(nist[v].k, k);
		aead_unhex(nist[v].iv, iv);
		size_t pn = aead_unhex(nist[v].p, p), an = aead_unhex(nist[v].a, a);
		assert_int_equal(aead_unhex(nist[v].c, c), pn);
		aead_unhex(nist[v].t, t);
		struct emse_gcm_key key;
		emse_gcm_init(&key, k);
		emse_gcm_seal(&key, iv, a, an, p, pn, out, tag);
		assert_memory_equal(out, c, pn);
		assert_memory_equal(tag, t, 16);
		memset(out, 0, sizeof(out));
		assert_int_equal(emse_gcm_open(&key, iv, a, an, c, pn, out, t), 0);
		assert_memory_equal(out, p, pn);
		emse_gcm_wipe(&key);
	}
}

/* The wipe clears the whole expanded key. */
static void test_wipe(void **state)
{
	(void)state;
	struct emse_gcm_key key, zero;
	uint8_t k[16] = {1, 2, 3};
	emse_gcm_init(&key, k);
	memset(&zero, 0, sizeof(zero));
	assert_memory_not_equal(&key, &zero, sizeof(key));
	emse_gcm_wipe(&key);
	assert_memory_equal(&key, &zero, sizeof(key));
}


static void test_against_wolfcrypt(void **state)
{
	(void)state;
	/* AAD: none, partial, exactly one block (the fuzzer found that one), more than one: RFC 9146's
	 * tls12_cid AAD is 23 + CID length (27-39 for our CIDs, 23-27 with a client's), the short
	 * paths take up to 48 bytes, and 49 and 64 go past them */
	static const size_t ans[] = {0, 1, 13, 15, 16, 17, 23, 27, 31, 32, 39, 40, 47, 48, 49, 64};
	aead_check_reference(&aead_gcm, ans, sizeof(ans) / sizeof(ans[0]));
}

static void test_forgeries_refused(void **state)
{
	(void)state;
	aead_check_forgeries(&aead_gcm);
}

/* The wide path is taken where the machine has it; the narrow one is forced too. */
static void each_path(void (*t)(void **), void **state)
{
	int wide = emse_gcm_set_wide(0);
	t(state);
	emse_gcm_set_wide(1);
	if (emse_gcm_wide())
		t(state);
	else
		fprintf(stderr, "no AVX-512 VAES/VPCLMULQDQ: the wide path is not tested here\n");
	emse_gcm_set_wide(wide);
}

static void test_nist_vectors_both(void **state) { each_path(test_nist_vectors, state); }
static void test_against_wolfcrypt_both(void **state) { each_path(test_against_wolfcrypt, state); }
static void test_forgeries_refused_both(void **state) { each_path(test_forgeries_refused, state); }

/* The switch does what it says (a test of the tests' premise). */
static void test_path_switch(void **state)
{
	(void)state;
	int wide = emse_gcm_set_wide(0);
	assert_int_equal(emse_gcm_wide(), 0);
	emse_gcm_set_wide(1);
	int has = emse_gcm_wide();
	emse_gcm_set_wide(wide);
	assert_int_equal(emse_gcm_wide(), wide);
	assert_true(wide == 0 || has == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_path_switch, setup),
		cmocka_unit_test_setup(test_nist_vectors_both, setup),
		cmocka_unit_test_setup(test_wipe, setup),
		cmocka_unit_test_setup(test_against_wolfcrypt_both, setup),
		cmocka_unit_test_setup(test_forgeries_refused_both, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
