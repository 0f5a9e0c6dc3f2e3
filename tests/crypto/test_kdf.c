/* The KDF, the settings of the chain, the hex helpers and the Milenage API edges; the byte-exact
 * values live in test_vectors.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "emse/e2m.h"

static const uint8_t CK[16] = {0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
			       0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb};
static const uint8_t IK[16] = {0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
			       0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41};

/* The B.2.0 input string built by hand, MACed by OpenSSL's one-shot HMAC(): an implementation
 * independent of e2m_kdf's streaming. */
static void reference_kdf(const uint8_t *key, size_t key_len, const uint8_t *fc, size_t fc_len,
			  const struct e2m_kdf_param *p, size_t n, uint8_t out[32])
{
	size_t total = fc_len;
	for (size_t i = 0; i < n; i++)
		total += p[i].len + 2;
	uint8_t *s = malloc(total), *w = s;
	assert_non_null(s);
	memcpy(w, fc, fc_len);
	w += fc_len;
	for (size_t i = 0; i < n; i++) {
		if (p[i].len)
			memcpy(w, p[i].data, p[i].len);
		w += p[i].len;
		*w++ = (uint8_t)(p[i].len >> 8);
		*w++ = (uint8_t)p[i].len;
	}
	unsigned int len = 0;
	assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, s, total, out, &len));
	assert_int_equal(len, 32);
	free(s);
}

static void test_kdf_matches_reference_construction(void **state)
{
	(void)state;
	uint8_t key[32], big[300], out[32], ref[32];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ 0x5a);
	/* Lengths above 255 exercise the high octet of Li. */
	struct e2m_kdf_param p[E2M_MAX_KDF_PARAMS] = {
		{(const uint8_t *)"e2m_CIoT", 8}, {big, 300}, {NULL, 0}, {big, 1},
		{big, 256}, {big, 2}, {big, 3}, {big, 4},
	};
	const uint8_t fc1[1] = {0x6a}, fc2[2] = {0xff, 0xe1};
	for (size_t n = 0; n <= E2M_MAX_KDF_PARAMS; n++) {
		assert_int_equal(e2m_kdf(key, 32, fc1, 1, p, n, out), 0);
		reference_kdf(key, 32, fc1, 1, p, n, ref);
		assert_memory_equal(out, ref, 32);
		assert_int_equal(e2m_kdf(key, 16, fc2, 2, p, n, out), 0);
		reference_kdf(key, 16, fc2, 2, p, n, ref);
		assert_memory_equal(out, ref, 32);
	}
}

static void test_kdf_param_of_65535_octets(void **state)
{
	(void)state;
	uint8_t key[32] = {1}, out[32], ref[32];
	uint8_t *big = calloc(65536, 1);
	assert_non_null(big);
	const uint8_t fc[1] = {0x10};
	struct e2m_kdf_param p = {big, 65535};
	assert_int_equal(e2m_kdf(key, 32, fc, 1, &p, 1, out), 0);
	reference_kdf(key, 32, fc, 1, &p, 1, ref);
	assert_memory_equal(out, ref, 32);
	/* Li is two octets: a longer parameter cannot be encoded. */
	p.len = 65536;
	assert_int_equal(e2m_kdf(key, 32, fc, 1, &p, 1, out), -1);
	free(big);
}

static void test_kdf_rejects_bad_arguments(void **state)
{
	(void)state;
	uint8_t key[32] = {0}, out[32];
	const uint8_t fc1[1] = {0x01}, ff[1] = {0xff}, fc2[2] = {0xff, 0xe0}, notff[2] = {0xfe, 0xe0};
	const uint8_t fc3[3] = {0xff, 0xe0, 0x00};
	struct e2m_kdf_param p[E2M_MAX_KDF_PARAMS + 1] = {{(const uint8_t *)"x", 1}};
	for (int i = 1; i <= E2M_MAX_KDF_PARAMS; i++)
		p[i] = p[0];
	assert_int_equal(e2m_kdf(key, 32, fc1, 1, p, 1, out), 0);
	assert_int_equal(e2m_kdf(key, 32, fc2, 2, p, 1, out), 0);
	/* 0xFF alone would collide with the two-octet form; a two-octet FC must start with 0xFF. */
	assert_int_equal(e2m_kdf(key, 32, ff, 1, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, notff, 2, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, fc3, 3, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, fc1, 0, p, 1, out), -1);
	assert_int_equal(e2m_kdf(NULL, 32, fc1, 1, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 0, fc1, 1, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, NULL, 1, p, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, fc1, 1, NULL, 1, out), -1);
	assert_int_equal(e2m_kdf(key, 32, fc1, 1, p, 1, NULL), -1);
	assert_int_equal(e2m_kdf(key, 32, fc1, 1, p, E2M_MAX_KDF_PARAMS + 1, out), -1);
	struct e2m_kdf_param nodata = {NULL, 3};
	assert_int_equal(e2m_kdf(key, 32, fc1, 1, &nodata, 1, out), -1);
}

static void test_defaults_are_spec_values(void **state)
{
	(void)state;
	struct e2m_params p;
	memset(&p, 0xaa, sizeof(p));
	e2m_params_default(&p);
	const uint8_t fi[2] = {0xff, 0xe0}, fk[2] = {0xff, 0xe1}, fa[2] = {0xff, 0xe2};
	assert_memory_equal(p.fc_int_key, fi, 2);
	assert_memory_equal(p.fc_e2m_key, fk, 2);
	assert_memory_equal(p.fc_access, fa, 2);
	assert_int_equal(p.fc_len, 2);
	assert_string_equal(p.label, "e2m_CIoT");
	assert_string_equal(p.access_label, "e2m_access");
}

/* Each setting reaches the derivation it names: the chain equals the KDF called by hand with it. */
static void test_settings_change_the_derivation(void **state)
{
	(void)state;
	struct e2m_params p;
	e2m_params_default(&p);
	uint8_t ckik[32], a[32], b[32], key[32], ref[32];
	memcpy(ckik, CK, 16);
	memcpy(ckik + 16, IK, 16);

	p.fc_int_key[1] = 0xd0;
	snprintf(p.label, sizeof(p.label), "other-label");
	assert_int_equal(e2m_int_key(&p, CK, IK, a), 0);
	struct e2m_kdf_param lp = {(const uint8_t *)"other-label", 11};
	assert_int_equal(e2m_kdf(ckik, 32, p.fc_int_key, 2, &lp, 1, ref), 0);
	assert_memory_equal(a, ref, 32);
	assert_int_equal(e2m_int_key(NULL, CK, IK, b), 0);
	assert_memory_not_equal(a, b, 32);

	/* The one-octet form takes fc_*[0] only. */
	e2m_params_default(&p);
	p.fc_len = 1;
	p.fc_int_key[0] = 0x70;
	p.fc_e2m_key[0] = 0x71;
	p.fc_access[0] = 0x72;
	assert_int_equal(e2m_int_key(&p, CK, IK, a), 0);
	struct e2m_kdf_param dp = {(const uint8_t *)"e2m_CIoT", 8};
	assert_int_equal(e2m_kdf(ckik, 32, p.fc_int_key, 1, &dp, 1, ref), 0);
	assert_memory_equal(a, ref, 32);

	assert_int_equal(e2m_key(&p, a, "emse-1", 6, key), 0);
	struct e2m_kdf_param kp[2] = {{(const uint8_t *)"emse-1", 6}, dp};
	assert_int_equal(e2m_kdf(a, 32, p.fc_e2m_key, 1, kp, 2, ref), 0);
	assert_memory_equal(key, ref, 32);

	const uint8_t sx[6] = {1, 2, 3, 4, 5, 6};
	uint8_t ckp[16], ikp[16];
	snprintf(p.access_label, sizeof(p.access_label), "acc");
	assert_int_equal(e2m_access_keys(&p, CK, IK, sx, ckp, ikp), 0);
	struct e2m_kdf_param ap[2] = {{(const uint8_t *)"acc", 3}, {sx, 6}};
	assert_int_equal(e2m_kdf(ckik, 32, p.fc_access, 1, ap, 2, ref), 0);
	assert_memory_equal(ckp, ref, 16);
	assert_memory_equal(ikp, ref + 16, 16);
}

static void test_unterminated_label_is_refused(void **state)
{
	(void)state;
	struct e2m_params p;
	e2m_params_default(&p);
	memset(p.label, 'x', sizeof(p.label));
	uint8_t out[32], ckp[16], ikp[16];
	const uint8_t sx[6] = {0};
	assert_int_equal(e2m_int_key(&p, CK, IK, out), -1);
	assert_int_equal(e2m_key(&p, out, "e", 1, out), -1);
	e2m_params_default(&p);
	memset(p.access_label, 'x', sizeof(p.access_label));
	assert_int_equal(e2m_access_keys(&p, CK, IK, sx, ckp, ikp), -1);
}

static void test_emse_id_limits(void **state)
{
	(void)state;
	uint8_t ik[32] = {9}, key[32];
	char id[66];
	memset(id, 'e', sizeof(id));
	assert_int_equal(e2m_key(NULL, ik, id, 1, key), 0);
	assert_int_equal(e2m_key(NULL, ik, id, 64, key), 0);
	assert_int_equal(e2m_key(NULL, ik, id, 65, key), -1);
	assert_int_equal(e2m_key(NULL, ik, id, 0, key), -1);
	assert_int_equal(e2m_key(NULL, ik, NULL, 1, key), -1);
	assert_int_equal(e2m_key(NULL, ik, "a\0b", 3, key), -1);
	assert_int_equal(e2m_key(NULL, ik, "a\nb", 3, key), -1);
	assert_int_equal(e2m_key(NULL, ik, "\xc0\xaf", 2, key), -1);
	assert_int_equal(e2m_key(NULL, ik, "gw-\xc3\xa9", 5, key), 0);
	assert_int_equal(e2m_emse_id_check("emse-1", 6), 0);
	assert_int_equal(e2m_emse_id_check(id, 65), -1);
}

static void test_key_id_is_rand_octets_12_to_15_big_endian(void **state)
{
	(void)state;
	uint8_t rand[16];
	for (int i = 0; i < 16; i++)
		rand[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(e2m_key_id(rand), 0xacadaeafu);
	memset(rand, 0, 12);
	assert_int_equal(e2m_key_id(rand), 0xacadaeafu);
	rand[12] = 0x80;
	rand[15] = 0x01;
	assert_int_equal(e2m_key_id(rand), 0x80adae01u);
}

static void test_hex(void **state)
{
	(void)state;
	const uint8_t in[4] = {0x00, 0xab, 0xcd, 0xff};
	char out[9];
	e2m_hex_encode(in, 4, out);
	assert_string_equal(out, "00abcdff");
	uint8_t b[4];
	assert_int_equal(e2m_hex_decode("00abcdff", b, 4), 0);
	assert_memory_equal(b, in, 4);
	assert_int_equal(e2m_hex_decode("00ABCDFF", b, 4), 0);
	assert_memory_equal(b, in, 4);
	assert_int_equal(e2m_hex_decode("00abcdf", b, 4), -1);   /* short */
	assert_int_equal(e2m_hex_decode("00abcdff0", b, 4), -1); /* long */
	assert_int_equal(e2m_hex_decode("00abcdfg", b, 4), -1);
	assert_int_equal(e2m_hex_decode("0xabcdff", b, 4), -1);
	assert_int_equal(e2m_hex_decode(" 0abcdff", b, 4), -1);
	assert_int_equal(e2m_hex_decode("", b, 4), -1);
	assert_int_equal(e2m_hex_decode(NULL, b, 4), -1);
	assert_int_equal(e2m_hex_decode("", b, 0), 0);
	e2m_hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

static void test_wipe_zeroes(void **state)
{
	(void)state;
	uint8_t k[32];
	memset(k, 0x5c, sizeof(k));
	e2m_wipe(k, sizeof(k));
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0);
	e2m_wipe(NULL, 10);
}

/* Optional outputs: asking for a subset gives the same octets as asking for all. */
static void test_milenage_optional_outputs(void **state)
{
	(void)state;
	const uint8_t k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
			       0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
	const uint8_t opc[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
				 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
	const uint8_t rand[16] = {0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d,
				  0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf, 0x35};
	const uint8_t sqn[6] = {0xff, 0x9b, 0xb4, 0xd0, 0xb6, 0x07}, amf[2] = {0xb9, 0xb9};
	uint8_t res[8], ck[16], ik[16], ak[6], aks[6], x[16];
	assert_int_equal(milenage_f2345(k, opc, rand, res, ck, ik, ak, aks), 0);
	assert_memory_equal(ck, CK, 16);
	assert_memory_equal(ik, IK, 16);
	assert_int_equal(milenage_f2345(k, opc, rand, NULL, x, NULL, NULL, NULL), 0);
	assert_memory_equal(x, ck, 16);
	assert_int_equal(milenage_f2345(k, opc, rand, NULL, NULL, x, NULL, NULL), 0);
	assert_memory_equal(x, ik, 16);
	assert_int_equal(milenage_f2345(k, opc, rand, NULL, NULL, NULL, x, NULL), 0);
	assert_memory_equal(x, ak, 6);
	assert_int_equal(milenage_f2345(k, opc, rand, x, NULL, NULL, NULL, NULL), 0);
	assert_memory_equal(x, res, 8);
	assert_int_equal(milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, x), 0);
	assert_memory_equal(x, aks, 6);
	uint8_t mac_a[8], mac_s[8];
	assert_int_equal(milenage_f1(k, opc, rand, sqn, amf, mac_a, mac_s), 0);
	assert_int_equal(milenage_f1(k, opc, rand, sqn, amf, x, NULL), 0);
	assert_memory_equal(x, mac_a, 8);
	assert_int_equal(milenage_f1(k, opc, rand, sqn, amf, NULL, x), 0);
	assert_memory_equal(x, mac_s, 8);
	assert_int_equal(milenage_f2345(NULL, opc, rand, res, NULL, NULL, NULL, NULL), -1);
	assert_int_equal(milenage_f1(k, NULL, rand, sqn, amf, mac_a, NULL), -1);
	assert_int_equal(milenage_opc(k, NULL, x), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdf_matches_reference_construction),
		cmocka_unit_test(test_kdf_param_of_65535_octets),
		cmocka_unit_test(test_kdf_rejects_bad_arguments),
		cmocka_unit_test(test_defaults_are_spec_values),
		cmocka_unit_test(test_settings_change_the_derivation),
		cmocka_unit_test(test_unterminated_label_is_refused),
		cmocka_unit_test(test_emse_id_limits),
		cmocka_unit_test(test_key_id_is_rand_octets_12_to_15_big_endian),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_wipe_zeroes),
		cmocka_unit_test(test_milenage_optional_outputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
