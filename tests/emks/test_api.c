/* The EMKS API without the network: strict parsing of each request body, and the handler's
 * statuses, bodies and authorisation by caller role (on a real store in a temp directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emse/e2m.h"
#include "emse/emks_api.h"
#include "emse/emks_store.h"

#define B(s) (const uint8_t *)(s), strlen(s)
#define IMSI "001010000000001"
#define APP "sensor-17@acme.example"
#define INTKEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* ---- parsing ------------------------------------------------------------------------------------ */

static void test_key_id_is_exactly_8_lowercase_hex(void **state)
{
	(void)state;
	uint32_t v = 0;
	assert_int_equal(emks_parse_key_id("ae47bf35", &v), 0);
	assert_int_equal(v, 0xae47bf35);
	assert_int_equal(emks_parse_key_id("00000000", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(emks_parse_key_id("AE47BF35", &v), -1);
	assert_int_equal(emks_parse_key_id("ae47bf3", &v), -1);
	assert_int_equal(emks_parse_key_id("ae47bf355", &v), -1);
	assert_int_equal(emks_parse_key_id("ae47bg35", &v), -1);
	assert_int_equal(emks_parse_key_id("", &v), -1);
}

static void test_imsi_is_5_to_15_digits(void **state)
{
	(void)state;
	assert_true(emks_valid_imsi("00101"));
	assert_true(emks_valid_imsi("001010123456789"));
	assert_false(emks_valid_imsi("0010"));
	assert_false(emks_valid_imsi("0010101234567890"));
	assert_false(emks_valid_imsi("00101a"));
	assert_false(emks_valid_imsi(""));
}

static void test_retrieve_accepts_a_valid_body(void **state)
{
	(void)state;
	struct emks_key_req r;
	assert_int_equal(emks_parse_retrieve(B("{\"ueAppId\":\"" APP "\",\"keyId\":\"ae47bf35\","
					       "\"emseId\":\"emse-1\",\"extra\":[1]}"), &r), 0);
	assert_string_equal(r.app_id, APP);
	assert_string_equal(r.emse_id, "emse-1");
	assert_int_equal(r.key_id, 0xae47bf35);
}

static void test_retrieve_rejects_malformed_bodies(void **state)
{
	(void)state;
	struct emks_key_req r;
	char long_app[200], long_emse[200];
	snprintf(long_app, sizeof(long_app),
		 "{\"ueAppId\":\"%0116d\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}", 0);
	snprintf(long_emse, sizeof(long_emse),
		 "{\"ueAppId\":\"a\",\"keyId\":\"ae47bf35\",\"emseId\":\"%065d\"}", 0);
	const char *bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"ueAppId\":\"a\",\"imsi\":\"00101\",\"keyId\":\"ae47bf35\"}", /* both */
		"{\"imsi\":\"0010\",\"keyId\":\"ae47bf35\"}",                      /* short imsi */
		"{\"imsi\":\"00101a\",\"keyId\":\"ae47bf35\"}",
		"{\"ueAppId\":\"a\",\"keyId\":\"ae47bf35\",\"emseId\":\"\"}",         /* empty emseId */
		"{\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}",                          /* no ueAppId */
		"{\"ueAppId\":\"a\",\"emseId\":\"e\"}",                               /* no keyId */
		"{\"ueAppId\":1,\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}",            /* wrong type */
		"{\"ueAppId\":\"a\",\"keyId\":\"AE47BF35\",\"emseId\":\"e\"}",        /* uppercase */
		"{\"ueAppId\":\"a\",\"keyId\":\"ae47bf3\",\"emseId\":\"e\"}",         /* 7 digits */
		"{\"ueAppId\":\"a\",\"keyId\":2923937589,\"emseId\":\"e\"}",          /* number */
		"{\"ueAppId\":\"\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}",         /* empty */
		"{\"ueAppId\":\"a\\u0001\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}", /* control */
		"{\"ueAppId\":\"a\\u0000b\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}",/* NUL */
		"{\"ueAppId\":\"a\",\"ueAppId\":\"b\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}",
		"{\"ueAppId\":\"a\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"} trailing",
		long_app,
		long_emse,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (emks_parse_retrieve(B(bad[i]), &r) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(emks_parse_retrieve(NULL, 0, &r), -1);
	/* Invalid UTF-8 */
	const uint8_t bad_utf8[] = "{\"ueAppId\":\"\xc3\x28\",\"keyId\":\"ae47bf35\",\"emseId\":\"e\"}";
	assert_int_equal(emks_parse_retrieve(bad_utf8, sizeof(bad_utf8) - 1, &r), -1);
}

static void test_retrieve_accepts_the_longest_ids(void **state)
{
	(void)state;
	struct emks_key_req r;
	char body[400];
	snprintf(body, sizeof(body),
		 "{\"ueAppId\":\"%0115d\",\"keyId\":\"ae47bf35\",\"emseId\":\"%064d\"}", 0, 0);
	assert_int_equal(emks_parse_retrieve(B(body), &r), 0);
	assert_int_equal(strlen(r.app_id), 115);
	assert_int_equal(strlen(r.emse_id), 64);
}

static char *batch_body(size_t n, int bad_index)
{
	size_t size = 64 + n * 80;
	char *s = malloc(size), *p = s;
	p += sprintf(p, "{\"requests\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"ueAppId\":\"u%zu\",\"keyId\":\"%s\",\"emseId\":\"e\"}",
			     i ? "," : "", i, (int)i == bad_index ? "xx" : "0000000a");
	sprintf(p, "]}");
	return s;
}

static void test_batch_takes_1_to_256_valid_requests(void **state)
{
	(void)state;
	struct emks_key_req *r = calloc(EMKS_BATCH_MAX, sizeof(*r));
	size_t n = 0;
	char *b;
	b = batch_body(1, -1);
	assert_int_equal(emks_parse_batch(B(b), r, &n), 0);
	assert_int_equal(n, 1);
	free(b);
	b = batch_body(256, -1);
	assert_int_equal(emks_parse_batch(B(b), r, &n), 0);
	assert_int_equal(n, 256);
	assert_string_equal(r[255].app_id, "u255");
	free(b);
	b = batch_body(257, -1);
	assert_int_equal(emks_parse_batch(B(b), r, &n), -1);
	free(b);
	b = batch_body(10, 7);
	assert_int_equal(emks_parse_batch(B(b), r, &n), -1);
	free(b);
	assert_int_equal(emks_parse_batch(B("{\"requests\":[]}"), r, &n), -1);
	assert_int_equal(emks_parse_batch(B("{\"requests\":{}}"), r, &n), -1);
	assert_int_equal(emks_parse_batch(B("{\"requests\":[1]}"), r, &n), -1);
	free(r);
}

static void test_register_needs_imsi_key_id_and_64_hex(void **state)
{
	(void)state;
	char imsi[16];
	uint32_t id;
	uint8_t key[32];
	assert_int_equal(emks_parse_register(B("{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\","
					       "\"e2mIntKey\":\"" INTKEY "\"}"), imsi, &id, key), 0);
	assert_string_equal(imsi, IMSI);
	assert_int_equal(id, 10);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[31], 0x1f);
	const char *bad[] = {
		"{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\"}",
		"{\"imsi\":\"0010\",\"keyId\":\"0000000a\",\"e2mIntKey\":\"" INTKEY "\"}",
		"{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"e2mIntKey\":\"" INTKEY "0\"}",
		"{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"e2mIntKey\":\"0" INTKEY "\"}",
		"{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"e2mIntKey\":\""
		"000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f\"}",
		"{\"imsi\":" IMSI ",\"keyId\":\"0000000a\",\"e2mIntKey\":\"" INTKEY "\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (emks_parse_register(B(bad[i]), imsi, &id, key) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void test_subscriber_lists(void **state)
{
	(void)state;
	struct emks_subscriber_req *s = malloc(sizeof(*s));
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[\"a\",\"b@c\"],\"emseIds\":[\"e\"]}"),
					       s), 0);
	assert_int_equal(s->n_app, 2);
	assert_string_equal(s->app_ids[1], "b@c");
	assert_int_equal(s->n_emse, 1);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[],\"emseIds\":[]}"), s), 0);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[1],\"emseIds\":[]}"), s), -1);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[\"a\"]}"), s), -1);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":\"a\",\"emseIds\":[]}"), s), -1);
	free(s);
}

/* ---- the handler ---------------------------------------------------------------------------------- */

struct fx {
	char dir[64], path[96];
	struct emks_store *st;
	struct emks_api api;
	struct emks_peer hss, emse1, emse2, emse3, none;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/emks-api-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/emks.db", f->dir);
	struct emks_store_config cfg = {.path = f->path, .keys_per_ue = 4, .expiry_s = 86400};
	char err[256];
	f->st = emks_store_open(&cfg, err, sizeof(err));
	if (!f->st)
		return -1;
	struct emks_api_config acfg = {.store = f->st, .rate_limit = 0};
	emks_api_init(&f->api, &acfg);
	f->hss.role = EMKS_PEER_HSS;
	f->emse1.role = f->emse2.role = f->emse3.role = EMKS_PEER_EMSE;
	strcpy(f->emse1.emse_id, "emse-1");
	strcpy(f->emse2.emse_id, "emse-2");
	strcpy(f->emse3.emse_id, "emse-3");
	f->none.role = EMKS_PEER_NONE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	emks_store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

#define NOW 1700000000
static int call(struct fx *f, const struct emks_peer *p, const char *method, const char *op,
		const char *body, struct emks_response *r)
{
	char path[256];
	snprintf(path, sizeof(path), EMKS_BASE_PATH "/%s", op);
	emks_api_handle(&f->api, p, method, path, (const uint8_t *)body, body ? strlen(body) : 0, NOW,
			1, r);
	return r->status;
}

static const char *cause_of(const struct emks_response *r)
{
	static char cause[64];
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	snprintf(cause, sizeof(cause), "%s", json_string_value(json_object_get(j, "cause")) ?: "");
	json_decref(j);
	return cause;
}

/* HSS: subscriber IMSI with APP, allowed emse-1 and emse-2, one key 0000000a. */
static void provision(struct fx *f)
{
	struct emks_response r;
	assert_int_equal(call(f, &f->hss, "PUT", "subscribers/" IMSI,
			      "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\",\"emse-2\"]}", &r), 204);
	assert_null(r.body);
	assert_int_equal(call(f, &f->hss, "POST", "register-intkey",
			      "{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"e2mIntKey\":\"" INTKEY "\"}",
			      &r), 204);
}

static void expected_key_hex(const char *emse_id, char out[65])
{
	struct e2m_params p;
	uint8_t ik[32], k[32];
	e2m_params_default(&p);
	assert_int_equal(e2m_hex_decode(INTKEY, ik, 32), 0);
	assert_int_equal(e2m_key(&p, ik, emse_id, strlen(emse_id), k), 0);
	e2m_hex_encode(k, 32, out);
}

static void test_retrieve_returns_the_emse_specific_key(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	provision(f);
	char want1[65], want2[65];
	expected_key_hex("emse-1", want1);
	expected_key_hex("emse-2", want2);
	assert_string_not_equal(want1, want2);

	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}", &r), 200);
	assert_string_equal(r.content_type, "application/json");
	json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "e2mKey")), want1);
	assert_string_equal(json_string_value(json_object_get(j, "keyId")), "0000000a");
	/* NOW + 86400 = 2023-11-15T22:13:20Z */
	assert_string_equal(json_string_value(json_object_get(j, "expiry")), "2023-11-15T22:13:20Z");
	json_decref(j);
	emks_response_clear(&r);

	assert_int_equal(call(f, &f->emse2, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-2\"}", &r), 200);
	assert_non_null(strstr(r.body, want2));
	emks_response_clear(&r);
}

static void test_retrieve_statuses(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	provision(f);
	/* emseId other than the certificate's */
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-2\"}", &r), 403);
	assert_string_equal(r.content_type, "application/problem+json");
	assert_string_equal(cause_of(&r), "EMSE_NOT_AUTHORIZED");
	emks_response_clear(&r);
	/* EMSE not in the subscription */
	assert_int_equal(call(f, &f->emse3, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-3\"}", &r), 403);
	assert_string_equal(cause_of(&r), "EMSE_NOT_AUTHORIZED");
	emks_response_clear(&r);
	/* unknown UE, unknown key id */
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"nobody\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}", &r), 204);
	assert_null(r.body);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000b\",\"emseId\":\"emse-1\"}", &r), 204);
	/* bad body */
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"A\",\"emseId\":\"emse-1\"}", &r), 400);
	assert_string_equal(r.content_type, "application/problem+json");
	assert_string_equal(cause_of(&r), "MANDATORY_IE_INCORRECT");
	emks_response_clear(&r);
	/* the HSS and a role-less certificate may not retrieve */
	assert_int_equal(call(f, &f->hss, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}", &r), 403);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->none, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}", &r), 403);
	emks_response_clear(&r);
}

static void test_batch_answers_in_order(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	provision(f);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkeys",
			      "{\"requests\":["
			      "{\"ueAppId\":\"nobody\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"},"
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"},"
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-2\"}]}", &r),
			 200);
	json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
	json_t *res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 0), "status")), 204);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 1), "status")), 200);
	char want[65];
	expected_key_hex("emse-1", want);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "e2mKey")), want);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 2), "status")), 403);
	json_decref(j);
	emks_response_clear(&r);
}

static void test_hss_endpoints_need_the_hss(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	assert_int_equal(call(f, &f->emse1, "POST", "register-intkey",
			      "{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"e2mIntKey\":\"" INTKEY "\"}",
			      &r), 403);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "PUT", "subscribers/" IMSI,
			      "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\"]}", &r), 403);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "POST", "remove-context", "{\"imsi\":\"" IMSI "\"}", &r),
			 403);
	emks_response_clear(&r);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 0);
	/* and the HSS may */
	provision(f);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 1);
	assert_int_equal(call(f, &f->hss, "POST", "remove-context", "{\"imsi\":\"" IMSI "\"}", &r), 204);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 0);
	assert_int_equal(call(f, &f->hss, "PUT", "subscribers/12ab",
			      "{\"ueAppIds\":[],\"emseIds\":[]}", &r), 400);
	emks_response_clear(&r);
}

static void test_unknown_paths_and_methods(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	assert_int_equal(call(f, &f->emse1, "POST", "nothing", "{}", &r), 404);
	emks_response_clear(&r);
	emks_api_handle(&f->api, &f->emse1, "POST", "/other/v1/retrieve-e2mkey", B("{}"), NOW, 1, &r);
	assert_int_equal(r.status, 404);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "GET", "retrieve-e2mkey", NULL, &r), 405);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->hss, "POST", "subscribers/" IMSI, "{}", &r), 405);
	emks_response_clear(&r);
}

static void test_rate_limit_answers_503_with_retry_after(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	f->api.rate_limit = 2;
	const char *body = "{\"ueAppId\":\"x\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}";
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 204);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 204);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 503);
	assert_int_equal(r.retry_after, 1);
	emks_response_clear(&r);
	/* next second: served again */
	emks_api_handle(&f->api, &f->emse1, "POST", EMKS_BASE_PATH "/retrieve-e2mkey", B(body), NOW,
			2, &r);
	assert_int_equal(r.status, 204);
}

/* Mutated valid bodies and raw noise through every endpoint, as every role: each answer must be a
 * well-formed status (never a crash; ASan/UBSan in the asan build). Deterministic seed. */
static void test_mutated_bodies_never_crash(void **state)
{
	struct fx *f = *state;
	provision(f);
	static const char *const seeds[][2] = {
		{"retrieve-e2mkey", "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}"},
		{"retrieve-e2mkeys", "{\"requests\":[{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}]}"},
		{"register-intkey", "{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000b\",\"e2mIntKey\":\"" INTKEY "\"}"},
		{"subscribers/" IMSI, "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\",\"emse-2\"]}"},
		{"remove-context", "{\"imsi\":\"001010000000009\"}"},
	};
	const struct emks_peer *peers[] = {&f->emse1, &f->hss, &f->none};
	uint32_t x = 12345;
	uint8_t buf[512];
	for (int iter = 0; iter < 20000; iter++) {
		size_t which = (size_t)iter % 5;
		size_t len = strlen(seeds[which][1]);
		memcpy(buf, seeds[which][1], len);
		int flips = 1 + (int)((x = x * 1103515245 + 12345) >> 16) % 4;
		for (int k = 0; k < flips; k++) {
			x = x * 1103515245 + 12345;
			size_t pos = (x >> 8) % len;
			x = x * 1103515245 + 12345;
			buf[pos] = (uint8_t)(x >> 16);
		}
		if (iter % 7 == 0)
			len = (x >> 4) % len;  /* truncated */
		struct emks_response r;
		char path[128];
		snprintf(path, sizeof(path), EMKS_BASE_PATH "/%s", seeds[which][0]);
		emks_api_handle(&f->api, peers[iter % 3], which == 3 ? "PUT" : "POST", path, buf, len,
				NOW, 1, &r);
		assert_true(r.status == 200 || r.status == 204 || r.status == 400 || r.status == 403);
		if (r.status != 204)
			assert_non_null(r.body);
		emks_response_clear(&r);
	}
}

/* ---- SPEC.md section 6 ---- */

static void test_parse_alternatives(void **state)
{
	(void)state;
	struct emks_key_req r;
	assert_int_equal(emks_parse_retrieve(B("{\"ueAppId\":\"a\",\"keyId\":\"ae47bf35\"}"), &r), 0);
	assert_false(r.has_emse_id);
	assert_false(r.by_imsi);
	assert_int_equal(emks_parse_retrieve(B("{\"imsi\":\"" IMSI "\",\"keyId\":\"ae47bf35\","
					       "\"emseId\":\"e\"}"), &r), 0);
	assert_true(r.by_imsi);
	assert_true(r.has_emse_id);
	assert_string_equal(r.imsi, IMSI);
	char imsi[16], emse[65];
	uint32_t id;
	uint8_t key[32];
	int has;
	assert_int_equal(emks_parse_register_opt(B("{\"imsi\":\"" IMSI "\",\"e2mIntKey\":\"" INTKEY
						   "\"}"), imsi, &has, &id, key), 0);
	assert_false(has);
	/* The strict form still wants keyId. */
	assert_int_equal(emks_parse_register(B("{\"imsi\":\"" IMSI "\",\"e2mIntKey\":\"" INTKEY "\"}"),
					     imsi, &id, key), -1);
	struct emks_subscriber_req *sub = malloc(sizeof(*sub));
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[],\"emseIds\":[]}"), sub), 0);
	assert_int_equal(sub->key_id_mode, EMKS_KEY_ID_RAND);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[],\"emseIds\":[],\"keyIdMode\":"
						 "\"hash\"}"), sub), 0);
	assert_int_equal(sub->key_id_mode, EMKS_KEY_ID_HASH);
	assert_int_equal(emks_parse_subscriber(B("{\"ueAppIds\":[],\"emseIds\":[],\"keyIdMode\":"
						 "\"rand\"}"), sub), 0);
	assert_int_equal(sub->key_id_mode, EMKS_KEY_ID_RAND);
	const char *bad_mode[] = {"\"HASH\"", "\"sha\"", "1", "null", "[\"hash\"]"};
	for (size_t i = 0; i < sizeof(bad_mode) / sizeof(bad_mode[0]); i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"ueAppIds\":[],\"emseIds\":[],\"keyIdMode\":%s}",
			 bad_mode[i]);
		if (emks_parse_subscriber(B(body), sub) != -1)
			fail_msg("accepted keyIdMode %s", bad_mode[i]);
	}
	free(sub);
	assert_int_equal(emks_parse_register_emse(B("{\"emseId\":\"emse-1\"}"), emse), 0);
	assert_string_equal(emse, "emse-1");
	assert_int_equal(emks_parse_register_emse(B("{\"emseId\":\"\"}"), emse), -1);
	assert_int_equal(emks_parse_register_emse(B("{}"), emse), -1);
}

static uint32_t hash_of_intkey(void)
{
	uint8_t ik[32];
	assert_int_equal(e2m_hex_decode(INTKEY, ik, 32), 0);
	return e2m_key_id_hash(ik);
}

static void test_hash_mode_push_without_key_id(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	/* Rand mode (the default): keyId is mandatory. */
	assert_int_equal(call(f, &f->hss, "PUT", "subscribers/" IMSI,
			      "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\"]}", &r), 204);
	assert_int_equal(call(f, &f->hss, "POST", "register-intkey",
			      "{\"imsi\":\"" IMSI "\",\"e2mIntKey\":\"" INTKEY "\"}", &r), 400);
	assert_string_equal(cause_of(&r), "MANDATORY_IE_INCORRECT");
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->hss, "PUT", "subscribers/" IMSI,
			      "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\"],\"keyIdMode\":\"md5\"}",
			      &r), 400);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->hss, "PUT", "subscribers/" IMSI,
			      "{\"ueAppIds\":[\"" APP "\"],\"emseIds\":[\"emse-1\"],\"keyIdMode\":\"hash\"}",
			      &r), 204);
	assert_int_equal(call(f, &f->hss, "POST", "register-intkey",
			      "{\"imsi\":\"" IMSI "\",\"e2mIntKey\":\"" INTKEY "\"}", &r), 204);
	char body[256], want[65], kid[9];
	snprintf(kid, sizeof(kid), "%08x", hash_of_intkey());
	snprintf(body, sizeof(body), "{\"ueAppId\":\"" APP "\",\"keyId\":\"%s\",\"emseId\":\"emse-1\"}",
		 kid);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 200);
	expected_key_hex("emse-1", want);
	assert_non_null(strstr(r.body, want));
	assert_non_null(strstr(r.body, kid));
	emks_response_clear(&r);
}

static void test_imsi_only_from_allowed_emses(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	provision(f);
	const char *body = "{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}";
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 403);
	assert_string_equal(cause_of(&r), "IMSI_NOT_ALLOWED");
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkeys",
			      "{\"requests\":[{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\","
			      "\"emseId\":\"emse-1\"}]}", &r), 200);
	assert_non_null(strstr(r.body, "{\"status\":403,\"cause\":\"IMSI_NOT_ALLOWED\"}"));
	emks_response_clear(&r);
	assert_int_equal(f->api.stats.imsi_refused, 2);
	/* Allowed: emse-1 gets its key by IMSI. */
	static const char *allowed[] = {"emse-1"};
	f->api.imsi_emse = allowed;
	f->api.n_imsi_emse = 1;
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", body, &r), 200);
	char want[65];
	expected_key_hex("emse-1", want);
	assert_non_null(strstr(r.body, want));
	emks_response_clear(&r);
	/* An unknown IMSI is an unknown UE. */
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"imsi\":\"001019999999999\",\"keyId\":\"0000000a\",\"emseId\":\"emse-1\"}",
			      &r), 204);
	/* Allowing IMSIs does not widen the subscription. */
	f->emse3.cert_fp[0] = '\0';
	static const char *allowed3[] = {"emse-3"};
	f->api.imsi_emse = allowed3;
	assert_int_equal(call(f, &f->emse3, "POST", "retrieve-e2mkey",
			      "{\"imsi\":\"" IMSI "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-3\"}", &r),
			 403);
	assert_string_equal(cause_of(&r), "EMSE_NOT_AUTHORIZED");
	emks_response_clear(&r);
}

static void test_register_emse_then_omit_emse_id(void **state)
{
	struct fx *f = *state;
	struct emks_response r;
	provision(f);
	strcpy(f->emse1.cert_fp, "11aa");
	const char *omit = "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\"}";
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", omit, &r), 400);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "POST", "register-emse", "{\"emseId\":\"emse-2\"}", &r),
			 403);
	assert_string_equal(cause_of(&r), "EMSE_NOT_AUTHORIZED");
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->hss, "POST", "register-emse", "{\"emseId\":\"emse-1\"}", &r), 403);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "GET", "register-emse", NULL, &r), 405);
	emks_response_clear(&r);
	assert_int_equal(call(f, &f->emse1, "POST", "register-emse", "{\"emseId\":\"emse-1\"}", &r),
			 204);
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey", omit, &r), 200);
	char want[65];
	expected_key_hex("emse-1", want);
	assert_non_null(strstr(r.body, want));
	emks_response_clear(&r);
	char batch[512];
	snprintf(batch, sizeof(batch), "{\"requests\":[%s,%s]}", omit,
		 "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000b\"}");
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkeys", batch, &r), 200);
	assert_non_null(strstr(r.body, want));
	assert_non_null(strstr(r.body, "{\"status\":204}"));
	emks_response_clear(&r);
	/* Another certificate with the same CN is not registered. */
	struct emks_peer other = f->emse1;
	strcpy(other.cert_fp, "22bb");
	assert_int_equal(call(f, &other, "POST", "retrieve-e2mkeys", batch, &r), 400);
	emks_response_clear(&r);
	/* Sending emseId stays valid, and must still be the certificate's. */
	assert_int_equal(call(f, &f->emse1, "POST", "retrieve-e2mkey",
			      "{\"ueAppId\":\"" APP "\",\"keyId\":\"0000000a\",\"emseId\":\"emse-2\"}", &r),
			 403);
	emks_response_clear(&r);
	assert_int_equal(f->api.stats.emse_registered, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_id_is_exactly_8_lowercase_hex),
		cmocka_unit_test(test_imsi_is_5_to_15_digits),
		cmocka_unit_test(test_retrieve_accepts_a_valid_body),
		cmocka_unit_test(test_retrieve_rejects_malformed_bodies),
		cmocka_unit_test(test_retrieve_accepts_the_longest_ids),
		cmocka_unit_test(test_batch_takes_1_to_256_valid_requests),
		cmocka_unit_test(test_register_needs_imsi_key_id_and_64_hex),
		cmocka_unit_test(test_subscriber_lists),
		cmocka_unit_test_setup_teardown(test_retrieve_returns_the_emse_specific_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retrieve_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_answers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hss_endpoints_need_the_hss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_paths_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_answers_503_with_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutated_bodies_never_crash, setup, teardown),
		cmocka_unit_test(test_parse_alternatives),
		cmocka_unit_test_setup_teardown(test_hash_mode_push_without_key_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imsi_only_from_allowed_emses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_emse_then_omit_emse_id, setup, teardown),
	};
	emks_json_wipe_on_free();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
