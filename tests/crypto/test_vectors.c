/* Reproduces every value of the shared vectors file (SPEC.md section 5) byte for byte.
 * The file is tests/crypto/e2m-vectors.json from the repo root, or $E2M_VECTORS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "emse/e2m.h"

static json_t *vectors;

static int load(void **state)
{
	(void)state;
	const char *path = getenv("E2M_VECTORS");
	if (!path || !*path)
		path = "tests/crypto/e2m-vectors.json";
	json_error_t err;
	vectors = json_load_file(path, 0, &err);
	if (!vectors) {
		fprintf(stderr, "cannot load %s: %s (line %d); run from the repo root or set E2M_VECTORS\n",
			path, err.text, err.line);
		return -1;
	}
	return 0;
}

static int unload(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

static json_t *section(const char *name)
{
	json_t *a = json_object_get(vectors, name);
	assert_true(json_is_array(a));
	assert_true(json_array_size(a) > 0);
	return a;
}

static const char *str(json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));
	if (!s)
		fail_msg("field %s missing", field);
	return s;
}

static void hex(json_t *obj, const char *field, uint8_t *out, size_t len)
{
	const char *s = str(obj, field);
	if (e2m_hex_decode(s, out, len) != 0)
		fail_msg("field %s: %s is not %zu octets of hex", field, s, len);
}

/* Checks the computed octets against the file and records the field as covered. */
static void expect(json_t *obj, json_t *seen, const char *field, const uint8_t *got, size_t len,
		   const char *where, size_t idx)
{
	char buf[2 * 64 + 1];
	assert_true(len <= 64);
	e2m_hex_encode(got, len, buf);
	const char *want = str(obj, field);
	if (strcmp(buf, want) != 0)
		fail_msg("%s[%zu].%s: got %s, want %s", where, idx, field, buf, want);
	json_object_set_new(seen, field, json_true());
}

/* Every field of an entry must have been either an input or checked: a value the file holds
 * but no test compares would pass silently. */
static void expect_all_covered(json_t *obj, json_t *seen, const char *where, size_t idx)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		(void)v;
		if (!json_object_get(seen, key))
			fail_msg("%s[%zu].%s is not checked by this test", where, idx, key);
	}
}

static void mark(json_t *seen, const char *field)
{
	json_object_set_new(seen, field, json_true());
}

static void test_milenage_vectors(void **state)
{
	(void)state;
	json_t *a = section("milenage"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		json_t *seen = json_object();
		uint8_t k[16], op[16], opc_file[16], opc[16], rand[16], sqn[6], amf[2];
		uint8_t mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6], ak_star[6];
		hex(v, "k", k, 16);
		hex(v, "op", op, 16);
		hex(v, "opc", opc_file, 16);
		hex(v, "rand", rand, 16);
		hex(v, "sqn", sqn, 6);
		hex(v, "amf", amf, 2);
		mark(seen, "k");
		mark(seen, "op");
		mark(seen, "rand");
		mark(seen, "sqn");
		mark(seen, "amf");
		assert_int_equal(milenage_opc(k, op, opc), 0);
		expect(v, seen, "opc", opc, 16, "milenage", i);
		assert_int_equal(milenage_f1(k, opc, rand, sqn, amf, mac_a, mac_s), 0);
		expect(v, seen, "mac_a", mac_a, 8, "milenage", i);
		expect(v, seen, "mac_s", mac_s, 8, "milenage", i);
		assert_int_equal(milenage_f2345(k, opc, rand, res, ck, ik, ak, ak_star), 0);
		expect(v, seen, "res", res, 8, "milenage", i);
		expect(v, seen, "ck", ck, 16, "milenage", i);
		expect(v, seen, "ik", ik, 16, "milenage", i);
		expect(v, seen, "ak", ak, 6, "milenage", i);
		expect(v, seen, "ak_star", ak_star, 6, "milenage", i);
		expect_all_covered(v, seen, "milenage", i);
		json_decref(seen);
	}
}

static void test_kdf_vectors(void **state)
{
	(void)state;
	json_t *a = section("kdf"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		json_t *seen = json_object();
		const char *key_hex = str(v, "key"), *fc_hex = str(v, "fc");
		size_t key_len = strlen(key_hex) / 2, fc_len = strlen(fc_hex) / 2;
		uint8_t key[64], fc[2], out[32];
		assert_true(key_len > 0 && key_len <= sizeof(key));
		assert_true(fc_len == 1 || fc_len == 2);
		hex(v, "key", key, key_len);
		hex(v, "fc", fc, fc_len);
		mark(seen, "key");
		mark(seen, "fc");

		json_t *pa = json_object_get(v, "params");
		assert_true(json_is_array(pa));
		size_t n = json_array_size(pa);
		assert_true(n <= E2M_MAX_KDF_PARAMS);
		uint8_t pbuf[E2M_MAX_KDF_PARAMS][256];
		struct e2m_kdf_param params[E2M_MAX_KDF_PARAMS];
		for (size_t j = 0; j < n; j++) {
			const char *p = json_string_value(json_array_get(pa, j));
			assert_non_null(p);
			size_t plen = strlen(p) / 2;
			assert_true(plen <= sizeof(pbuf[j]));
			assert_int_equal(e2m_hex_decode(p, pbuf[j], plen), 0);
			params[j].data = pbuf[j];
			params[j].len = plen;
		}
		mark(seen, "params");
		assert_int_equal(e2m_kdf(key, key_len, fc, fc_len, params, n, out), 0);
		expect(v, seen, "out", out, 32, "kdf", i);
		expect_all_covered(v, seen, "kdf", i);
		json_decref(seen);
	}
}

static void test_chain_vectors(void **state)
{
	(void)state;
	struct e2m_params p;
	e2m_params_default(&p);
	json_t *a = section("chain"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		json_t *seen = json_object();
		uint8_t k[16], opc[16], rand[16], sqn[6], amf[2];
		hex(v, "k", k, 16);
		hex(v, "opc", opc, 16);
		hex(v, "rand", rand, 16);
		hex(v, "sqn", sqn, 6);
		hex(v, "amf", amf, 2);
		const char *app_id = str(v, "ue_app_id"), *emse_id = str(v, "emse_id");
		mark(seen, "k");
		mark(seen, "opc");
		mark(seen, "rand");
		mark(seen, "sqn");
		mark(seen, "amf");
		mark(seen, "ue_app_id");
		mark(seen, "emse_id");

		uint8_t res[8], ck[16], ik[16], ak[6];
		assert_int_equal(milenage_f2345(k, opc, rand, res, ck, ik, ak, NULL), 0);
		expect(v, seen, "res", res, 8, "chain", i);
		expect(v, seen, "ck", ck, 16, "chain", i);
		expect(v, seen, "ik", ik, 16, "chain", i);
		expect(v, seen, "ak", ak, 6, "chain", i);

		uint8_t sqn_xor_ak[6], ck_p[16], ik_p[16];
		for (int j = 0; j < 6; j++)
			sqn_xor_ak[j] = (uint8_t)(sqn[j] ^ ak[j]);
		assert_int_equal(e2m_access_keys(&p, ck, ik, sqn_xor_ak, ck_p, ik_p), 0);
		expect(v, seen, "ck_prime", ck_p, 16, "chain", i);
		expect(v, seen, "ik_prime", ik_p, 16, "chain", i);

		uint8_t int_key[32], key[32];
		assert_int_equal(e2m_int_key(&p, ck, ik, int_key), 0);
		expect(v, seen, "e2m_int_key", int_key, 32, "chain", i);

		uint32_t key_id = e2m_key_id(rand);
		uint8_t key_id_be[4] = {(uint8_t)(key_id >> 24), (uint8_t)(key_id >> 16),
					(uint8_t)(key_id >> 8), (uint8_t)key_id};
		expect(v, seen, "key_id", key_id_be, 4, "chain", i);

		assert_int_equal(e2m_key(&p, int_key, emse_id, strlen(emse_id), key), 0);
		expect(v, seen, "e2m_key", key, 32, "chain", i);

		char ident[E2M_PSK_IDENTITY_MAX + 1];
		int n = e2m_identity_encode(key_id, app_id, strlen(app_id), ident, sizeof(ident));
		assert_true(n > 0);
		assert_string_equal(ident, str(v, "psk_identity"));
		mark(seen, "psk_identity");

		/* What the EMSE will get from the wire parses back to the same key id and app id. */
		struct e2m_identity parsed;
		assert_int_equal(e2m_identity_parse((const uint8_t *)ident, (size_t)n, &parsed), E2M_ID_OK);
		assert_int_equal(parsed.key_id, key_id);
		assert_string_equal(parsed.app_id, app_id);

		expect_all_covered(v, seen, "chain", i);
		json_decref(seen);
		e2m_wipe(int_key, sizeof(int_key));
		e2m_wipe(key, sizeof(key));
	}
}

/* SPEC.md section 6's example, verbatim: chain[0]'s e2m_int_key hashes to key id 2e48051e. */
static void test_hash_key_id_spec_example(void **state)
{
	(void)state;
	uint8_t int_key[32];
	assert_int_equal(e2m_hex_decode("5bd8ddca443d58c8c2d29eea967ff2cfdb343053ab5674529bbb6adc24158b01",
					int_key, 32), 0);
	assert_int_equal(e2m_key_id_hash(int_key), 0x2e48051eu);
	char ident[E2M_PSK_IDENTITY_MAX + 1];
	assert_true(e2m_identity_encode(e2m_key_id_hash(int_key), "sensor-17@acme.example",
					strlen("sensor-17@acme.example"), ident, sizeof(ident)) > 0);
	assert_string_equal(ident, "e2m.2e48051e@sensor-17@acme.example");
}

/* The whole chain in hash mode: the expected key id is recomputed here with OpenSSL's SHA-256
 * over the file's e2m_int_key, independently of e2m_key_id_hash(). */
static void test_chain_hash_mode(void **state)
{
	(void)state;
	json_t *a = section("chain"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		uint8_t int_key[32], md[32], ck[16], ik[16], k[16], opc[16], rand[16], mine[32];
		unsigned md_len = 0;
		hex(v, "e2m_int_key", int_key, 32);
		assert_int_equal(EVP_Digest(int_key, 32, md, &md_len, EVP_sha256(), NULL), 1);
		assert_int_equal(md_len, 32);
		uint32_t want = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
		/* From K and OPc, so the chain under test is ours end to end. */
		hex(v, "k", k, 16);
		hex(v, "opc", opc, 16);
		hex(v, "rand", rand, 16);
		assert_int_equal(milenage_f2345(k, opc, rand, NULL, ck, ik, NULL, NULL), 0);
		assert_int_equal(e2m_int_key(NULL, ck, ik, mine), 0);
		assert_memory_equal(mine, int_key, 32);
		uint32_t got = e2m_key_id_hash(mine);
		if (got != want)
			fail_msg("chain[%zu]: hash key id %08x, want %08x", i, got, want);
		const char *app_id = str(v, "ue_app_id");
		char ident[E2M_PSK_IDENTITY_MAX + 1], want_ident[E2M_PSK_IDENTITY_MAX + 1];
		assert_true(e2m_identity_encode(got, app_id, strlen(app_id), ident, sizeof(ident)) > 0);
		snprintf(want_ident, sizeof(want_ident), "e2m.%02x%02x%02x%02x@%s", md[0], md[1], md[2],
			 md[3], app_id);
		assert_string_equal(ident, want_ident);
		/* The key itself does not depend on how its id was formed. */
		uint8_t key[32], want_key[32];
		const char *emse_id = str(v, "emse_id");
		assert_int_equal(e2m_key(NULL, mine, emse_id, strlen(emse_id), key), 0);
		hex(v, "e2m_key", want_key, 32);
		assert_memory_equal(key, want_key, 32);
	}
}

/* NULL params must mean SPEC.md's defaults, on the first chain entry. */
static void test_chain_null_params_is_default(void **state)
{
	(void)state;
	json_t *v = json_array_get(section("chain"), 0);
	uint8_t k[16], opc[16], rand[16], ck[16], ik[16], a[32], b[32];
	hex(v, "k", k, 16);
	hex(v, "opc", opc, 16);
	hex(v, "rand", rand, 16);
	assert_int_equal(milenage_f2345(k, opc, rand, NULL, ck, ik, NULL, NULL), 0);
	struct e2m_params p;
	e2m_params_default(&p);
	assert_int_equal(e2m_int_key(&p, ck, ik, a), 0);
	assert_int_equal(e2m_int_key(NULL, ck, ik, b), 0);
	assert_memory_equal(a, b, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_milenage_vectors),
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_chain_vectors),
		cmocka_unit_test(test_chain_null_params_is_default),
		cmocka_unit_test(test_hash_key_id_spec_example),
		cmocka_unit_test(test_chain_hash_mode),
	};
	return cmocka_run_group_tests(tests, load, unload);
}
