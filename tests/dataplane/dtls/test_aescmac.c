/* dataplane/dtls/aescmac.c: RFC 4493's subkeys and its four examples (0, 16, 40 and 64 octets),
 * then against OpenSSL's EVP_MAC "CMAC" (tests/cmac_ref.h) on random keys and messages of every
 * length 0-300; each on the AES-NI path and on the OpenSSL one; the key wiped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "emse/dtls/aescmac.h"
#include "../../cmac_ref.h"
#include "aead_check.h"

/* the paths this CPU can run: the OpenSSL one always, AES-NI where it is */
static int n_paths(void)
{
	struct emse_cmac_key k;
	emse_cmac_init(&k, (const uint8_t[16]){0});
	int ni = k.ni;
	emse_cmac_wipe(&k);
	if (!ni)
		fprintf(stderr, "no AES-NI on this CPU: the OpenSSL path only\n");
	return ni ? 2 : 1;
}

static const char *RFC_M = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
			   "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

static void test_rfc4493(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		const char *tag;
	} ex[] = {
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	};
	uint8_t key[16], m[64], k1[16], k2[16], want[16], tag[16];
	aead_unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	aead_unhex(RFC_M, m);
	aead_unhex("fbeed618357133667c85e08f7236a8de", k1);
	aead_unhex("f7ddac306ae266ccf90bc11ee46d513b", k2);
	for (int ni = 0; ni < n_paths(); ni++) {
		struct emse_cmac_key k;
		emse_cmac_init_impl(&k, key, ni);
		assert_int_equal(k.ni, ni);
		assert_memory_equal(k.k1, k1, 16);
		assert_memory_equal(k.k2, k2, 16);
		for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
			aead_unhex(ex[i].tag, want);
			emse_cmac(&k, m, ex[i].n, tag);
			assert_memory_equal(tag, want, 16);
		}
		emse_cmac_wipe(&k);
		for (size_t i = 0; i < sizeof(k); i++)
			assert_int_equal(((uint8_t *)&k)[i], 0);
	}
}

/* Random keys, every length 0-300 (whole and partial last blocks, one to nineteen blocks); the
 * message read at an odd offset so nothing relies on alignment. */
static void test_against_openssl(void **state)
{
	(void)state;
	static uint8_t buf[301 + 1];
	uint8_t key[16], ours[16], ref[16];
	for (int ni = 0; ni < n_paths(); ni++) {
		for (size_t n = 0; n <= 300; n++) {
			assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
			assert_int_equal(RAND_bytes(buf, sizeof(buf)), 1);
			struct emse_cmac_key k;
			emse_cmac_init_impl(&k, key, ni);
			emse_cmac(&k, buf + 1, n, ours);
			assert_int_equal(cmac_ref(key, buf + 1, n, ref), 0);
			assert_memory_equal(ours, ref, 16);
			emse_cmac_wipe(&k);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4493),
		cmocka_unit_test(test_against_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
