/* The EMKS wire format: request bodies and the strict parsing of answers. The answer comes from
 * the network: every field is checked for type, length and value, and a results array that does
 * not match the request one to one is refused as a whole (order is the only link between a
 * request and its result). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "emse/control.h"
#include "emse/emks_client.h"

char *emks_build_batch_request(const char *emse_id, const struct emse_keyprov_item *items,
			       unsigned n)
{
	return emks_build_batch_request_ex(emse_id, 0, items, n);
}

char *emks_build_batch_request_ex(const char *emse_id, int omit_emse_id,
				  const struct emse_keyprov_item *items, unsigned n)
{
	if (!emse_id || n == 0 || n > EMSE_KEYPROV_BATCH_MAX)
		return NULL;
	json_t *root = json_object(), *arr = json_array();
	char *out = NULL;
	if (!root || !arr || json_object_set_new(root, "requests", arr) != 0) {
		json_decref(arr);
		goto done;
	}
	for (unsigned i = 0; i < n; i++) {
		char kid[9];
		snprintf(kid, sizeof(kid), "%08x", items[i].key_id);
		json_t *r = items[i].imsi[0]
				    ? json_pack("{s:s,s:s}", "imsi", items[i].imsi, "keyId", kid)
				    : json_pack("{s:s%,s:s}", "ueAppId", items[i].app_id,
						(size_t)items[i].app_id_len, "keyId", kid);
		if (r && !omit_emse_id && json_object_set_new(r, "emseId", json_string(emse_id)) != 0) {
			json_decref(r);
			r = NULL;
		}
		if (!r || json_array_append_new(arr, r) != 0)
			goto done;
	}
	out = json_dumps(root, JSON_COMPACT);
done:
	json_decref(root);
	return out;
}

static int is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int emks_parse_rfc3339(const char *s, uint64_t *out)
{
	int Y, M, D, h, m, sec;
	if (!s || strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
		return -1;
	if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (oh * 60L + om) * 60L * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
			.tm_min = m, .tm_sec = sec == 60 ? 59 : sec};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || (long long)t - off < 0)
		return -1;
	*out = (uint64_t)((long long)t - off);
	return 0;
}

int emks_parse_retry_after(const char *value, uint64_t now_s, uint32_t *delay_s)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t len = strlen(value);
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
		       value[len - 1] == '\n'))
		len--;
	if (len == 0)
		return -1;
	int all_digits = 1;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)value[i]))
			all_digits = 0;
	uint64_t d;
	if (all_digits) {
		if (len > 9)
			d = 3600;
		else
			d = strtoull(value, NULL, 10);
	} else {
		char buf[64];
		if (len >= sizeof(buf))
			return -1;
		memcpy(buf, value, len);
		buf[len] = '\0';
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (!end || *end != '\0')
			return -1;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		d = (uint64_t)t > now_s ? (uint64_t)t - now_s : 0;
	}
	*delay_s = d > 3600 ? 3600 : (uint32_t)d;
	return 0;
}

/* The key travels as hex inside jansson's own string: wiped in place before jansson frees it. */
static void wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		OPENSSL_cleanse((char *)(uintptr_t)json_string_value(v), json_string_length(v));
}

static int parse_one(json_t *r, const struct emse_keyprov_item *item,
		     struct emse_keyprov_result *out)
{
	if (!json_is_object(r))
		return -1;
	json_t *st = json_object_get(r, "status");
	if (!json_is_integer(st))
		return -1;
	json_int_t status = json_integer_value(st);
	if (status == 204) {
		out->status = EMSE_FETCH_NO_KEY;
		return 0;
	}
	if (status == 403) {
		out->status = EMSE_FETCH_FORBIDDEN;
		return 0;
	}
	if (status != 200)
		return -1;
	json_t *k = json_object_get(r, "e2mKey"), *id = json_object_get(r, "keyId"),
	       *ex = json_object_get(r, "expiry");
	if (!json_is_string(k) || !json_is_string(id) || !json_is_string(ex))
		return -1;
	const char *kh = json_string_value(k), *ih = json_string_value(id);
	if (json_string_length(k) != 2 * E2M_KEY_LEN || !is_lower_hex(kh, 2 * E2M_KEY_LEN))
		return -1;
	char want[9];
	snprintf(want, sizeof(want), "%08x", item->key_id);
	if (json_string_length(id) != 8 || strcmp(ih, want) != 0)
		return -1;
	uint64_t expiry;
	if (emks_parse_rfc3339(json_string_value(ex), &expiry) != 0)
		return -1;
	if (e2m_hex_decode(kh, out->key, E2M_KEY_LEN) != 0)
		return -1;
	out->expiry = expiry;
	out->status = EMSE_FETCH_OK;
	return 0;
}

int emks_parse_batch_response(const char *body, size_t len, const struct emse_keyprov_item *items,
			      unsigned n, struct emse_keyprov_result *res, unsigned *bad_items)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].status = EMSE_FETCH_ERROR;
	}
	*bad_items = n;
	if (!body || len == 0 || len > EMKS_BODY_MAX)
		return -1;
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return -1;
	int rc = -1;
	json_t *arr = json_object_get(root, "results");
	if (!json_is_object(root) || !json_is_array(arr) || json_array_size(arr) != n)
		goto done;
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		json_t *r = json_array_get(arr, i);
		if (parse_one(r, &items[i], &res[i]) != 0) {
			OPENSSL_cleanse(res[i].key, sizeof(res[i].key));
			res[i].expiry = 0;
			res[i].status = EMSE_FETCH_ERROR;
			bad++;
		}
	}
	*bad_items = bad;
	rc = 0;
done:
	if (json_is_array(arr))
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *r = json_array_get(arr, i);
			if (json_is_object(r))
				wipe_json_string(json_object_get(r, "e2mKey"));
		}
	json_decref(root);
	return rc;
}
