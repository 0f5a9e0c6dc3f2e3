/* Strict parsing of EMKS request bodies (include/emse/emks_api.h). Bodies come from any holder of
 * a certificate of our CA, so every field is checked for type, length and alphabet; unknown
 * members are ignored so a later version of the HSS or EMSE can add some. */
#include "emse/emks_api.h"

#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* jansson keeps copies of every string it parses, e2mIntKey included, and frees them without
 * wiping; this makes its free wipe. */
static void wipe_free(void *p)
{
	if (p) {
		OPENSSL_cleanse(p, malloc_usable_size(p));
		free(p);
	}
}

void emks_json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}

int emks_parse_key_id(const char *s, uint32_t *key_id)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	if (s[8] != '\0')
		return -1;
	*key_id = v;
	return 0;
}

int emks_valid_imsi(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n >= 5 && n <= EMKS_IMSI_MAX;
}

/* Lowercase hex of exactly 2*len digits. */
static int parse_hex(const char *s, size_t slen, uint8_t *out, size_t len)
{
	if (slen != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			if (c >= '0' && c <= '9')
				v = v << 4 | (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v << 4 | (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* An identifier: 1..max octets, no control characters (jansson has already checked UTF-8 and
 * refused NUL). Copies it NUL-terminated into out (max + 1 octets). */
static int get_ident(const json_t *obj, const char *member, char *out, size_t max)
{
	const json_t *v = json_object_get(obj, member);
	if (!json_is_string(v))
		return -1;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n < 1 || n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int get_imsi(const json_t *obj, char imsi[EMKS_IMSI_MAX + 1])
{
	const json_t *v = json_object_get(obj, "imsi");
	if (!json_is_string(v) || json_string_length(v) > EMKS_IMSI_MAX ||
	    !emks_valid_imsi(json_string_value(v)))
		return -1;
	strcpy(imsi, json_string_value(v));
	return 0;
}

static int get_key_id(const json_t *obj, uint32_t *key_id)
{
	const json_t *v = json_object_get(obj, "keyId");
	if (!json_is_string(v) || json_string_length(v) != 8)
		return -1;
	return emks_parse_key_id(json_string_value(v), key_id);
}

static json_t *load_object(const uint8_t *body, size_t len)
{
	if (!body || len == 0 || len > EMKS_BODY_MAX)
		return NULL;
	json_error_t err;
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
	if (root && !json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* The UE is named by exactly one of ueAppId (the EMKS translates) or imsi (the EMSE did, SPEC.md 6);
 * emseId may be left out by a registered EMSE (the API decides). */
static int key_req_from(const json_t *obj, struct emks_key_req *out)
{
	if (!json_is_object(obj))
		return -1;
	int has_app = json_object_get(obj, "ueAppId") != NULL;
	int has_imsi = json_object_get(obj, "imsi") != NULL;
	if (has_app == has_imsi)
		return -1;
	out->by_imsi = (uint8_t)has_imsi;
	out->app_id[0] = out->imsi[0] = '\0';
	if (has_app ? get_ident(obj, "ueAppId", out->app_id, E2M_APP_ID_MAX) != 0
		    : get_imsi(obj, out->imsi) != 0)
		return -1;
	out->has_emse_id = json_object_get(obj, "emseId") != NULL;
	out->emse_id[0] = '\0';
	if ((out->has_emse_id && get_ident(obj, "emseId", out->emse_id, E2M_EMSE_ID_MAX) != 0) ||
	    get_key_id(obj, &out->key_id) != 0)
		return -1;
	return 0;
}

int emks_parse_retrieve(const uint8_t *body, size_t len, struct emks_key_req *out)
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = key_req_from(root, out);
	json_decref(root);
	return rc;
}

int emks_parse_batch(const uint8_t *body, size_t len, struct emks_key_req *out, size_t *n)
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = -1;
	const json_t *arr = json_object_get(root, "requests");
	size_t count = json_array_size(arr);
	if (!json_is_array(arr) || count < 1 || count > EMKS_BATCH_MAX)
		goto out;
	for (size_t i = 0; i < count; i++)
		if (key_req_from(json_array_get(arr, i), &out[i]) != 0)
			goto out;
	*n = count;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int emks_parse_register(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1],
			uint32_t *key_id, uint8_t int_key[E2M_KEY_LEN])
{
	int has_key_id = 0;
	int rc = emks_parse_register_opt(body, len, imsi, &has_key_id, key_id, int_key);
	if (rc == 0 && !has_key_id) {
		OPENSSL_cleanse(int_key, E2M_KEY_LEN);
		rc = -1;
	}
	return rc;
}

int emks_parse_register_opt(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1],
			    int *has_key_id, uint32_t *key_id, uint8_t int_key[E2M_KEY_LEN])
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = -1;
	const json_t *k = json_object_get(root, "e2mIntKey");
	*has_key_id = json_object_get(root, "keyId") != NULL;
	*key_id = 0;
	if (get_imsi(root, imsi) != 0 || (*has_key_id && get_key_id(root, key_id) != 0) ||
	    !json_is_string(k) ||
	    parse_hex(json_string_value(k), json_string_length(k), int_key, E2M_KEY_LEN) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int get_list(const json_t *obj, const char *member, char *out, size_t stride, size_t max,
		    size_t *n)
{
	const json_t *arr = json_object_get(obj, member);
	if (!json_is_array(arr) || json_array_size(arr) > EMKS_SUB_LIST_MAX)
		return -1;
	size_t count = json_array_size(arr);
	for (size_t i = 0; i < count; i++) {
		/* get_ident wants an object member: wrap the element. */
		json_t *tmp = json_pack("{sO}", "v", json_array_get(arr, i));
		int rc = tmp ? get_ident(tmp, "v", out + i * stride, max) : -1;
		json_decref(tmp);
		if (rc != 0)
			return -1;
	}
	*n = count;
	return 0;
}

int emks_parse_subscriber(const uint8_t *body, size_t len, struct emks_subscriber_req *out)
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = -1;
	const json_t *mode = json_object_get(root, "keyIdMode");
	out->key_id_mode = EMKS_KEY_ID_RAND;
	if (mode) {
		const char *m = json_string_value(mode);
		if (m && strcmp(m, "hash") == 0)
			out->key_id_mode = EMKS_KEY_ID_HASH;
		else if (!m || strcmp(m, "rand") != 0)
			goto out;
	}
	if (get_list(root, "ueAppIds", &out->app_ids[0][0], sizeof(out->app_ids[0]), E2M_APP_ID_MAX,
		     &out->n_app) != 0 ||
	    get_list(root, "emseIds", &out->emse_ids[0][0], sizeof(out->emse_ids[0]),
		     E2M_EMSE_ID_MAX, &out->n_emse) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int emks_parse_remove(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1])
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = get_imsi(root, imsi);
	json_decref(root);
	return rc;
}

int emks_parse_register_emse(const uint8_t *body, size_t len, char emse_id[E2M_EMSE_ID_MAX + 1])
{
	json_t *root = load_object(body, len);
	if (!root)
		return -1;
	int rc = get_ident(root, "emseId", emse_id, E2M_EMSE_ID_MAX);
	json_decref(root);
	return rc;
}
