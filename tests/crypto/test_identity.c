/* The PSK identity encoder and the strict parser the EMSE runs on untrusted handshake bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emse/e2m.h"

/* Parses from a heap copy of exactly len octets, so ASan flags any read past the end. */
static int parse_n(const char *s, size_t len, struct e2m_identity *out)
{
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	memcpy(buf, s, len);
	int rc = e2m_identity_parse(buf, len, out);
	free(buf);
	return rc;
}

static int parse(const char *s, struct e2m_identity *out)
{
	return parse_n(s, strlen(s), out);
}

#define expect_reason(lit, reason) assert_int_equal(parse_n(lit, sizeof(lit) - 1, NULL), reason)

static void test_accepts_spec_example(void **state)
{
	(void)state;
	struct e2m_identity id;
	assert_int_equal(parse("e2m.ae47bf35@sensor-17@acme.example", &id), E2M_ID_OK);
	assert_int_equal(id.key_id, 0xAE47BF35u);
	assert_int_equal(id.app_id_len, strlen("sensor-17@acme.example"));
	assert_string_equal(id.app_id, "sensor-17@acme.example");
}

static void test_accepts_app_id_with_at_signs(void **state)
{
	(void)state;
	struct e2m_identity id;
	/* Only the '@' right after the key id is the separator; the rest belongs to the app id. */
	assert_int_equal(parse("e2m.00000000@@a@b@", &id), E2M_ID_OK);
	assert_int_equal(id.key_id, 0);
	assert_string_equal(id.app_id, "@a@b@");
}

static void test_accepts_limits_and_utf8(void **state)
{
	(void)state;
	struct e2m_identity id;
	char s[E2M_PSK_IDENTITY_MAX + 1];
	memcpy(s, "e2m.ffffffff@", 13);
	memset(s + 13, 'a', 115);
	s[128] = '\0';
	assert_int_equal(parse_n(s, 128, &id), E2M_ID_OK);
	assert_int_equal(id.key_id, 0xffffffffu);
	assert_int_equal(id.app_id_len, 115);
	assert_int_equal(strlen(id.app_id), 115);

	assert_int_equal(parse("e2m.01234567@x", &id), E2M_ID_OK);
	assert_int_equal(id.key_id, 0x01234567u);
	assert_int_equal(parse("e2m.89abcdef@capteur-\xc3\xa9t\xc3\xa9 n\xc2\xb0" "1", &id), E2M_ID_OK);
	assert_int_equal(id.key_id, 0x89abcdefu);
	assert_int_equal(parse("e2m.89abcdef@\xe3\x82\xbb\xe3\x83\xb3\xe3\x82\xb5", &id), E2M_ID_OK);
	assert_int_equal(parse("e2m.89abcdef@\xf0\x9f\x93\xa1-\xf4\x8f\xbf\xbf", &id), E2M_ID_OK);
	assert_int_equal(parse("e2m.89abcdef@with space", &id), E2M_ID_OK);
}

static void test_rejects_wrong_prefix(void **state)
{
	(void)state;
	expect_reason("E2M.ae47bf35@x", E2M_ID_BAD_PREFIX);
	expect_reason("e2m-ae47bf35@x", E2M_ID_BAD_PREFIX);
	expect_reason("e2mae47bf35@x", E2M_ID_BAD_PREFIX);
	expect_reason(" e2m.ae47bf35@x", E2M_ID_BAD_PREFIX);
	expect_reason("e3m.ae47bf35@x", E2M_ID_BAD_PREFIX);
	expect_reason("e2m", E2M_ID_BAD_PREFIX);
	expect_reason("", E2M_ID_BAD_PREFIX);
	expect_reason("sensor-17@acme.example", E2M_ID_BAD_PREFIX);
	assert_int_equal(e2m_identity_parse(NULL, 0, NULL), E2M_ID_BAD_PREFIX);
}

static void test_rejects_bad_key_id(void **state)
{
	(void)state;
	expect_reason("e2m.AE47BF35@x", E2M_ID_BAD_KEY_ID);    /* uppercase */
	expect_reason("e2m.ae47bF35@x", E2M_ID_BAD_KEY_ID);    /* one uppercase digit */
	expect_reason("e2m.ae47bf3@x", E2M_ID_BAD_KEY_ID);     /* 7 digits */
	expect_reason("e2m.ae47bf351@x", E2M_ID_BAD_KEY_ID);   /* 9 digits */
	expect_reason("e2m.ae47bf35A@x", E2M_ID_BAD_KEY_ID);   /* 9th digit uppercase */
	expect_reason("e2m.ae47bg35@x", E2M_ID_BAD_KEY_ID);    /* non-hex */
	expect_reason("e2m.0xe47bf3@x", E2M_ID_BAD_KEY_ID);    /* C prefix */
	expect_reason("e2m. e47bf35@x", E2M_ID_BAD_KEY_ID);    /* space */
	expect_reason("e2m.-1234567@x", E2M_ID_BAD_KEY_ID);    /* sign */
	expect_reason("e2m.@sensor", E2M_ID_BAD_KEY_ID);       /* none */
	expect_reason("e2m.ae47", E2M_ID_BAD_KEY_ID);          /* cut short */
	expect_reason("e2m.ae47bf3\0@x", E2M_ID_BAD_KEY_ID);   /* NUL inside */
}

static void test_rejects_missing_at(void **state)
{
	(void)state;
	expect_reason("e2m.ae47bf35", E2M_ID_NO_AT);
	expect_reason("e2m.ae47bf35sensor", E2M_ID_NO_AT);
	expect_reason("e2m.ae47bf35:sensor@acme", E2M_ID_NO_AT);
	expect_reason("e2m.ae47bf35 @x", E2M_ID_NO_AT);
}

static void test_rejects_empty_app_id(void **state)
{
	(void)state;
	expect_reason("e2m.ae47bf35@", E2M_ID_EMPTY_APP);
	assert_int_equal(e2m_app_id_check("", 0), E2M_ID_EMPTY_APP);
	char out[64];
	assert_int_equal(e2m_identity_encode(1, "", 0, out, sizeof(out)), -1);
}

static void test_rejects_app_id_over_115(void **state)
{
	(void)state;
	char app[117], s[E2M_PSK_IDENTITY_MAX + 2];
	memset(app, 'a', 116);
	app[116] = '\0';
	assert_int_equal(e2m_app_id_check(app, 115), E2M_ID_OK);
	assert_int_equal(e2m_app_id_check(app, 116), E2M_ID_APP_TOO_LONG);
	assert_int_equal(e2m_identity_encode(1, app, 116, s, sizeof(s)), -1);
	/* On the wire the prefix is fixed at 13 octets, so a 116-octet app id is a 129-octet
	 * identity: the parser stops at the overall limit before looking inside. */
	memcpy(s, "e2m.ae47bf35@", 13);
	memcpy(s + 13, app, 116);
	assert_int_equal(parse_n(s, 129, NULL), E2M_ID_TOO_LONG);
}

static void test_rejects_identity_over_128(void **state)
{
	(void)state;
	char s[4096];
	memset(s, 'z', sizeof(s));
	assert_int_equal(parse_n(s, 129, NULL), E2M_ID_TOO_LONG);
	memcpy(s, "e2m.ae47bf35@", 13);
	assert_int_equal(parse_n(s, 129, NULL), E2M_ID_TOO_LONG);
	assert_int_equal(parse_n(s, sizeof(s), NULL), E2M_ID_TOO_LONG);
	assert_int_equal(parse_n(s, 128, NULL), E2M_ID_OK);
	/* An enormous claimed length must be refused without reading. */
	assert_int_equal(e2m_identity_parse((const uint8_t *)s, SIZE_MAX, NULL), E2M_ID_TOO_LONG);
}

static void test_rejects_nul_and_control_bytes(void **state)
{
	(void)state;
	expect_reason("e2m.ae47bf35@sen\0sor", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@x\0", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@\0", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\x01", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\nb", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\rb", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\tb", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@\x1b[31m", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\x7f", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\xc2\x85", E2M_ID_BAD_CHAR);  /* U+0085, a C1 control */
	expect_reason("e2m.ae47bf35@a\xc2\x9f", E2M_ID_BAD_CHAR);  /* U+009F */
}

static void test_rejects_invalid_utf8(void **state)
{
	(void)state;
	expect_reason("e2m.ae47bf35@\xff", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\x80", E2M_ID_BAD_CHAR);             /* stray continuation */
	expect_reason("e2m.ae47bf35@\xc0\xaf", E2M_ID_BAD_CHAR);          /* overlong '/' */
	expect_reason("e2m.ae47bf35@\xc1\xbf", E2M_ID_BAD_CHAR);          /* overlong */
	expect_reason("e2m.ae47bf35@\xe0\x80\xaf", E2M_ID_BAD_CHAR);      /* overlong, 3 octets */
	expect_reason("e2m.ae47bf35@\xf0\x80\x80\xaf", E2M_ID_BAD_CHAR);  /* overlong, 4 octets */
	expect_reason("e2m.ae47bf35@\xed\xa0\x80", E2M_ID_BAD_CHAR);      /* surrogate U+D800 */
	expect_reason("e2m.ae47bf35@\xf4\x90\x80\x80", E2M_ID_BAD_CHAR);  /* past U+10FFFF */
	expect_reason("e2m.ae47bf35@\xf8\x88\x80\x80\x80", E2M_ID_BAD_CHAR);
	expect_reason("e2m.ae47bf35@a\xe2\x82", E2M_ID_BAD_CHAR);         /* truncated at the end */
	expect_reason("e2m.ae47bf35@\xe2\x82z", E2M_ID_BAD_CHAR);         /* truncated inside */
	expect_reason("e2m.ae47bf35@\xc3", E2M_ID_BAD_CHAR);
}

static void test_encode_spec_example(void **state)
{
	(void)state;
	char out[E2M_PSK_IDENTITY_MAX + 1];
	const char *app = "sensor-17@acme.example";
	int n = e2m_identity_encode(0xAE47BF35u, app, strlen(app), out, sizeof(out));
	assert_int_equal(n, strlen("e2m.ae47bf35@sensor-17@acme.example"));
	assert_string_equal(out, "e2m.ae47bf35@sensor-17@acme.example");
}

static void test_encode_checks_buffer_and_app_id(void **state)
{
	(void)state;
	char out[32];
	/* "e2m.00000001@ab" is 15 octets, plus the NUL. */
	assert_int_equal(e2m_identity_encode(1, "ab", 2, out, 16), 15);
	assert_string_equal(out, "e2m.00000001@ab");
	assert_int_equal(e2m_identity_encode(1, "ab", 2, out, 15), -1);
	assert_int_equal(e2m_identity_encode(1, "ab", 2, NULL, 0), -1);
	assert_int_equal(e2m_identity_encode(1, NULL, 2, out, sizeof(out)), -1);
	assert_int_equal(e2m_identity_encode(1, "a\nb", 3, out, sizeof(out)), -1);
	assert_int_equal(e2m_identity_encode(1, "a\0b", 3, out, sizeof(out)), -1);
	assert_int_equal(e2m_identity_encode(1, "\xc0\xaf", 2, out, sizeof(out)), -1);
}

static void test_round_trip(void **state)
{
	(void)state;
	static const uint32_t ids[] = {0, 1, 0x0000ffffu, 0x80000000u, 0xae47bf35u, 0xffffffffu};
	char long_app[E2M_APP_ID_MAX + 1];
	memset(long_app, 'q', E2M_APP_ID_MAX);
	long_app[E2M_APP_ID_MAX] = '\0';
	const char *apps[] = {"x", "sensor-17@acme.example", "user@realm@nai.example",
			      "caf\xc3\xa9", long_app};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (size_t j = 0; j < sizeof(apps) / sizeof(apps[0]); j++) {
			char out[E2M_PSK_IDENTITY_MAX + 1];
			size_t alen = strlen(apps[j]);
			int n = e2m_identity_encode(ids[i], apps[j], alen, out, sizeof(out));
			assert_int_equal(n, 13 + alen);
			struct e2m_identity id;
			assert_int_equal(parse_n(out, (size_t)n, &id), E2M_ID_OK);
			assert_int_equal(id.key_id, ids[i]);
			assert_int_equal(id.app_id_len, alen);
			assert_memory_equal(id.app_id, apps[j], alen + 1);
		}
	}
}

/* Hostile bytes: nothing crashes, and whatever is accepted re-encodes to exactly the same octets
 * (one spelling per identity, so cache keys cannot be aliased). */
static void test_random_input_never_crashes_and_accepted_is_canonical(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const char *seed = "e2m.ae47bf35@sensor-17@acme.example\xc3\xa9";
	size_t seed_len = strlen(seed);
	unsigned accepted = 0;
	for (int iter = 0; iter < 200000; iter++) {
		uint8_t buf[160];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = (size_t)(x % sizeof(buf));
		/* Half the inputs are mutations of a valid identity, so the parser's deeper states are
		 * reached, not just the prefix check. */
		if (iter & 1) {
			for (size_t i = 0; i < len; i++)
				buf[i] = i < seed_len ? (uint8_t)seed[i] : (uint8_t)'a';
			for (int m = 0; m < 3; m++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				if (len)
					buf[(x >> 8) % len] = (uint8_t)(x >> 32);
			}
		} else {
			for (size_t i = 0; i < len; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				buf[i] = (uint8_t)x;
			}
		}
		struct e2m_identity id;
		int rc = parse_n((const char *)buf, len, &id);
		assert_true(rc <= 0 && rc >= E2M_ID_BAD_CHAR);
		if (rc == E2M_ID_OK) {
			accepted++;
			char out[E2M_PSK_IDENTITY_MAX + 1];
			int n = e2m_identity_encode(id.key_id, id.app_id, id.app_id_len, out, sizeof(out));
			assert_int_equal(n, len);
			assert_memory_equal(out, buf, len);
		}
	}
	assert_true(accepted > 1000);
}

static void test_strerror_names_each_reason(void **state)
{
	(void)state;
	for (int r = E2M_ID_BAD_CHAR; r <= E2M_ID_OK; r++) {
		const char *s = e2m_identity_strerror(r);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown reason");
		for (int q = E2M_ID_BAD_CHAR; q < r; q++)
			assert_string_not_equal(s, e2m_identity_strerror(q));
	}
	assert_string_equal(e2m_identity_strerror(-100), "unknown reason");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_spec_example),
		cmocka_unit_test(test_accepts_app_id_with_at_signs),
		cmocka_unit_test(test_accepts_limits_and_utf8),
		cmocka_unit_test(test_rejects_wrong_prefix),
		cmocka_unit_test(test_rejects_bad_key_id),
		cmocka_unit_test(test_rejects_missing_at),
		cmocka_unit_test(test_rejects_empty_app_id),
		cmocka_unit_test(test_rejects_app_id_over_115),
		cmocka_unit_test(test_rejects_identity_over_128),
		cmocka_unit_test(test_rejects_nul_and_control_bytes),
		cmocka_unit_test(test_rejects_invalid_utf8),
		cmocka_unit_test(test_encode_spec_example),
		cmocka_unit_test(test_encode_checks_buffer_and_app_id),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_random_input_never_crashes_and_accepted_is_canonical),
		cmocka_unit_test(test_strerror_names_each_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
