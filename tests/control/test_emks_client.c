/* The EMKS wire format: the batch request body, and the strict parser of answers, good and
 * hostile (wrong types, short or uppercase hex, foreign key ids, bad times, extra and missing
 * results, broken JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "emse/control.h"
#include "emse/emks_client.h"

#define KEY64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define EXP "\"2026-11-28T08:00:00Z\""
#define EXP_UNIX 1795852800ull

static struct emse_keyprov_item items[3];

static int setup(void **state)
{
	(void)state;
	const char *apps[3] = {"ue1.app", "ue2.app", "ue3.app"};
	for (unsigned i = 0; i < 3; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].key_id = 0xae47bf30 + i;
		items[i].app_id_len = (uint8_t)strlen(apps[i]);
		memcpy(items[i].app_id, apps[i], items[i].app_id_len);
	}
	return 0;
}

static int parse(const char *body, unsigned n, struct emse_keyprov_result *res, unsigned *bad)
{
	return emks_parse_batch_response(body, strlen(body), items, n, res, bad);
}

static void test_build_request(void **state)
{
	(void)state;
	char *s = emks_build_batch_request("emse-1", items, 2);
	assert_non_null(s);
	json_error_t e;
	json_t *root = json_loads(s, 0, &e);
	assert_non_null(root);
	json_t *arr = json_object_get(root, "requests");
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 2);
	json_t *r1 = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(r1, "ueAppId")), "ue2.app");
	assert_string_equal(json_string_value(json_object_get(r1, "keyId")), "ae47bf31");
	assert_string_equal(json_string_value(json_object_get(r1, "emseId")), "emse-1");
	json_decref(root);
	free(s);
	assert_null(emks_build_batch_request("emse-1", items, 0));
	assert_null(emks_build_batch_request("emse-1", items, EMSE_KEYPROV_BATCH_MAX + 1));
}

/* SPEC.md 6: an item the EMSE translated names the UE by imsi only; a registered EMSE sends no
 * emseId. */
static void test_build_request_alternatives(void **state)
{
	(void)state;
	struct emse_keyprov_item two[2];
	memcpy(two, items, sizeof(two));
	snprintf(two[0].imsi, sizeof(two[0].imsi), "001010000000001");
	char *s = emks_build_batch_request_ex("emse-1", 1, two, 2);
	assert_non_null(s);
	json_t *root = json_loads(s, 0, NULL);
	json_t *arr = json_object_get(root, "requests");
	json_t *r0 = json_array_get(arr, 0), *r1 = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(r0, "imsi")), "001010000000001");
	assert_null(json_object_get(r0, "ueAppId"));
	assert_null(json_object_get(r0, "emseId"));
	assert_string_equal(json_string_value(json_object_get(r0, "keyId")), "ae47bf30");
	assert_string_equal(json_string_value(json_object_get(r1, "ueAppId")), "ue2.app");
	assert_null(json_object_get(r1, "imsi"));
	assert_null(json_object_get(r1, "emseId"));
	json_decref(root);
	free(s);
	s = emks_build_batch_request_ex("emse-1", 0, two, 1);
	root = json_loads(s, 0, NULL);
	r0 = json_array_get(json_object_get(root, "requests"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "emseId")), "emse-1");
	assert_string_equal(json_string_value(json_object_get(r0, "imsi")), "001010000000001");
	json_decref(root);
	free(s);
}

static void test_good_answer(void **state)
{
	(void)state;
	const char *body = "{\"results\":["
			   "{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf30\",\"expiry\":" EXP "},"
			   "{\"status\":204},"
			   "{\"status\":403,\"cause\":\"EMSE_NOT_AUTHORIZED\"}]}";
	struct emse_keyprov_result res[3];
	unsigned bad = 99;
	assert_int_equal(parse(body, 3, res, &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(res[0].status, EMSE_FETCH_OK);
	assert_int_equal(res[0].expiry, EXP_UNIX);
	assert_int_equal(res[0].key[0], 0x00);
	assert_int_equal(res[0].key[1], 0x11);
	assert_int_equal(res[0].key[31], 0xff);
	assert_int_equal(res[1].status, EMSE_FETCH_NO_KEY);
	assert_int_equal(res[2].status, EMSE_FETCH_FORBIDDEN);
}

/* One bad result among good ones: only that one is ERROR. */
static void one_bad(const char *result, const char *what)
{
	char body[1024];
	snprintf(body, sizeof(body), "{\"results\":[{\"status\":204},%s,{\"status\":204}]}", result);
	struct emse_keyprov_result res[3];
	unsigned bad = 0;
	assert_int_equal(parse(body, 3, res, &bad), 0);
	if (bad != 1 || res[1].status != EMSE_FETCH_ERROR)
		fail_msg("%s: accepted (status %u)", what, res[1].status);
	assert_int_equal(res[0].status, EMSE_FETCH_NO_KEY);
	assert_int_equal(res[2].status, EMSE_FETCH_NO_KEY);
	for (unsigned i = 0; i < E2M_KEY_LEN; i++)
		assert_int_equal(res[1].key[i], 0);
}

static void test_hostile_results(void **state)
{
	(void)state;
	one_bad("{\"status\":\"200\",\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"status as string");
	one_bad("{\"status\":200.0,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"status as real");
	one_bad("{\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}", "no status");
	one_bad("{\"status\":500}", "status 500");
	one_bad("{\"status\":200}", "200 without a key");
	one_bad("{\"status\":200,\"e2mKey\":12,\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"key as number");
	one_bad("{\"status\":200,\"e2mKey\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddee\","
		"\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"short hex (62)");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "00\",\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"long hex (66)");
	one_bad("{\"status\":200,\"e2mKey\":\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\","
		"\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"uppercase hex");
	one_bad("{\"status\":200,\"e2mKey\":\"0011223344556677889gaabbccddeeff00112233445566778899aabbccddeeff\","
		"\"keyId\":\"ae47bf31\",\"expiry\":" EXP "}",
		"non-hex digit");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf30\",\"expiry\":" EXP "}",
		"another item's key id");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"AE47BF31\",\"expiry\":" EXP "}",
		"uppercase key id");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":2923937585,\"expiry\":" EXP "}",
		"key id as number");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":1795852800}",
		"expiry as number");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":\"tomorrow\"}",
		"expiry not a time");
	one_bad("{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"ae47bf31\",\"expiry\":\"2026-02-30T00:00:00Z\"}",
		"30 February");
	one_bad("[\"status\",200]", "result not an object");
	one_bad("null", "null result");
}

/* The body as a whole refused: every result ERROR. */
static void all_bad(const char *body, const char *what)
{
	struct emse_keyprov_result res[3];
	unsigned bad = 0;
	if (emks_parse_batch_response(body, strlen(body), items, 3, res, &bad) != -1)
		fail_msg("%s: accepted", what);
	assert_int_equal(bad, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(res[i].status, EMSE_FETCH_ERROR);
}

static void test_hostile_bodies(void **state)
{
	(void)state;
	all_bad("{\"results\":[{\"status\":204},{\"status\":204}]}", "missing result");
	all_bad("{\"results\":[{\"status\":204},{\"status\":204},{\"status\":204},{\"status\":204}]}",
		"extra result");
	all_bad("{\"results\":[]}", "no results");
	all_bad("{\"results\":{\"0\":{\"status\":204}}}", "results not an array");
	all_bad("{\"result\":[{\"status\":204},{\"status\":204},{\"status\":204}]}", "misspelt");
	all_bad("[{\"status\":204},{\"status\":204},{\"status\":204}]", "array at top");
	all_bad("{\"results\":[{\"status\":204},{\"status\":204},{\"status\":204}]", "truncated");
	all_bad("{\"results\":[{\"status\":204},{\"status\":204},{\"status\":204}],"
		"\"results\":[{\"status\":204},{\"status\":204},{\"status\":204}]}",
		"duplicate key");
	all_bad("", "empty");
	all_bad("204", "a number");
	struct emse_keyprov_result res[3];
	unsigned bad;
	assert_int_equal(emks_parse_batch_response(NULL, 0, items, 3, res, &bad), -1);
}

static void test_rfc3339(void **state)
{
	(void)state;
	uint64_t t;
	assert_int_equal(emks_parse_rfc3339("2026-11-28T08:00:00Z", &t), 0);
	assert_int_equal(t, EXP_UNIX);
	assert_int_equal(emks_parse_rfc3339("2026-11-28t08:00:00.123456z", &t), 0);
	assert_int_equal(t, EXP_UNIX);
	assert_int_equal(emks_parse_rfc3339("2026-11-28T09:30:00+01:30", &t), 0);
	assert_int_equal(t, EXP_UNIX);
	assert_int_equal(emks_parse_rfc3339("2026-11-28T06:00:00-02:00", &t), 0);
	assert_int_equal(t, EXP_UNIX);
	assert_int_equal(emks_parse_rfc3339("2024-02-29T00:00:00Z", &t), 0);
	const char *bad[] = {"2026-11-28 08:00:00Z", "2026-11-28T08:00:00", "2026-11-28T24:00:00Z",
			     "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-28T08:00:00Zx",
			     "2026-11-28T08:00:00.Z", "2026-11-28T08:00:00+0100", "1969-12-31T23:59:59Z",
			     "", "2026-11-28T08:60:00Z"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (emks_parse_rfc3339(bad[i], &t) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_retry_after(void **state)
{
	(void)state;
	uint32_t d;
	assert_int_equal(emks_parse_retry_after(" 5\r\n", 1000, &d), 0);
	assert_int_equal(d, 5);
	assert_int_equal(emks_parse_retry_after("99999999999", 1000, &d), 0);
	assert_int_equal(d, 3600);
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	assert_int_equal(emks_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, &d), 0);
	assert_int_equal(d, 7);
	assert_int_equal(emks_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111800, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(emks_parse_retry_after("soon", 0, &d), -1);
	assert_int_equal(emks_parse_retry_after("", 0, &d), -1);
	assert_int_equal(emks_parse_retry_after("-5", 0, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_request),  cmocka_unit_test(test_good_answer),
		cmocka_unit_test(test_build_request_alternatives),
		cmocka_unit_test(test_hostile_results), cmocka_unit_test(test_hostile_bodies),
		cmocka_unit_test(test_rfc3339),         cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
