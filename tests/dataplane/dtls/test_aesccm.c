/* dataplane/dtls/aesccm.c: NIST SP 800-38C's example 3 (12-byte nonce, 8-byte tag), then against
 * wolfCrypt's AES-CCM on random keys, nonces, AAD of 0-40 bytes (around the 14 bytes the first
 * AAD block holds) and plaintext of every length 0-300, in place and not; any flipped bit of tag,
 * ciphertext, AAD or nonce is refused without writing the output; lengths over CCM's limits are
 * refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emse/dtls/aesccm.h"
#include "aead_check.h"

static int setup(void **state)
{
	(void)state;
	if (!emse_ccm_available()) {
		fprintf(stderr, "no AES-NI on this CPU: aesccm tests skipped\n");
		skip();
	}
	return 0;
}

static void test_nist_example3(void **state)
{
	(void)state;
	uint8_t k[16], n[12], a[20], p[24], c[24], t[8], out[24], tag[8];
	aead_unhex("404142434445464748494a4b4c4d4e4f", k);
	aead_unhex("101112131415161718191a1b", n);
	aead_unhex("000102030405060708090a0b0c0d0e0f10111213", a);
	aead_unhex("202122232425262728292a2b2c2d2e2f3031323334353637", p);
	aead_unhex("e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5", c);
	aead_unhex("484392fbc1b09951", t);
	struct emse_ccm_key key;
	emse_ccm_init(&key, k);
	assert_int_equal(emse_ccm8_seal(&key, n, a, 20, p, 24, out, tag), 0);
	assert_memory_equal(out, c, 24);
	assert_memory_equal(tag, t, 8);
	memset(out, 0, sizeof(out));
	assert_int_equal(emse_ccm8_open(&key, n, a, 20, c, 24, out, t), 0);
	assert_memory_equal(out, p, 24);
	emse_ccm_wipe(&key);
	struct emse_ccm_key zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&key, &zero, sizeof(key));
}


static void test_against_wolfcrypt(void **state)
{
	(void)state;
	/* AAD around the 14 bytes the first AAD block holds, and over two blocks */
	static const size_t ans[] = {0, 1, 13, 14, 15, 16, 30, 31, 40};
	aead_check_reference(&aead_ccm, ans, sizeof(ans) / sizeof(ans[0]));
}

static void test_forgeries_refused(void **state)
{
	(void)state;
	aead_check_forgeries(&aead_ccm);
}

/* Lengths CCM with L = 3 and a two-byte AAD length cannot encode: refused, nothing written. */
static void test_limits(void **state)
{
	(void)state;
	uint8_t k[16] = {1}, iv[12] = {2}, buf[32] = {0}, t[8] = {0}, mark[32];
	memset(mark, 0x77, sizeof(mark));
	memcpy(buf, mark, sizeof(buf));
	struct emse_ccm_key key;
	emse_ccm_init(&key, k);
	assert_int_equal(emse_ccm8_seal(&key, iv, buf, EMSE_CCM_MAX_AAD + 1, buf, 1, buf, t), -1);
	assert_int_equal(emse_ccm8_seal(&key, iv, buf, 0, buf, (size_t)EMSE_CCM_MAX_TEXT + 1, buf, t),
			 -1);
	assert_int_equal(emse_ccm8_open(&key, iv, buf, EMSE_CCM_MAX_AAD + 1, buf, 1, buf, t), -1);
	assert_int_equal(emse_ccm8_open(&key, iv, buf, 0, buf, (size_t)EMSE_CCM_MAX_TEXT + 1, buf, t),
			 -1);
	assert_memory_equal(buf, mark, sizeof(buf));
	emse_ccm_wipe(&key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nist_example3, setup),
		cmocka_unit_test_setup(test_against_wolfcrypt, setup),
		cmocka_unit_test_setup(test_forgeries_refused, setup),
		cmocka_unit_test_setup(test_limits, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
