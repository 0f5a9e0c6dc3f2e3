/* The e2m PSK identity "e2m." hex8(key_id) "@" ue_app_id (SPEC.md section 3): encoder, and the
 * strict parser the EMSE runs on untrusted handshake bytes (no heap, bounded by 128 octets). */
#include <string.h>

#include "emse/e2m.h"

#define PREFIX "e2m."
#define PREFIX_LEN 4
#define HEADER_LEN (PREFIX_LEN + 8 + 1) /* "e2m." + 8 hex digits + '@' */

int e2m_app_id_check(const char *app_id, size_t len)
{
	if (!app_id || len == 0)
		return E2M_ID_EMPTY_APP;
	if (len > E2M_APP_ID_MAX)
		return E2M_ID_APP_TOO_LONG;
	return e2m_printable_utf8((const uint8_t *)app_id, len) ? E2M_ID_OK : E2M_ID_BAD_CHAR;
}

int e2m_identity_encode(uint32_t key_id, const char *app_id, size_t app_id_len, char *out,
			size_t out_size)
{
	if (!out || e2m_app_id_check(app_id, app_id_len) != E2M_ID_OK ||
	    out_size < HEADER_LEN + app_id_len + 1)
		return -1;
	static const char digits[] = "0123456789abcdef";
	memcpy(out, PREFIX, PREFIX_LEN);
	for (int i = 0; i < 8; i++)
		out[PREFIX_LEN + i] = digits[(key_id >> (28 - 4 * i)) & 0xf];
	out[PREFIX_LEN + 8] = '@';
	memcpy(out + HEADER_LEN, app_id, app_id_len);
	out[HEADER_LEN + app_id_len] = '\0';
	return (int)(HEADER_LEN + app_id_len);
}

static int lower_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int e2m_identity_parse(const uint8_t *buf, size_t len, struct e2m_identity *out)
{
	/* The length is checked first so nothing beyond RFC 4279's limit is ever read. */
	if (len > E2M_PSK_IDENTITY_MAX)
		return E2M_ID_TOO_LONG;
	if (!buf || len < PREFIX_LEN || memcmp(buf, PREFIX, PREFIX_LEN) != 0)
		return E2M_ID_BAD_PREFIX;
	uint32_t key_id = 0;
	for (size_t i = PREFIX_LEN; i < PREFIX_LEN + 8; i++) {
		int v = i < len ? lower_hex(buf[i]) : -1;
		if (v < 0)
			return E2M_ID_BAD_KEY_ID;
		key_id = key_id << 4 | (uint32_t)v;
	}
	if (len == PREFIX_LEN + 8)
		return E2M_ID_NO_AT;
	if (buf[PREFIX_LEN + 8] != '@') {
		/* A ninth digit (of either case) means the key id is too long, not that '@' is gone. */
		uint8_t c = buf[PREFIX_LEN + 8];
		if (lower_hex(c) >= 0 || (c >= 'A' && c <= 'F'))
			return E2M_ID_BAD_KEY_ID;
		return E2M_ID_NO_AT;
	}
	const uint8_t *app = buf + HEADER_LEN;
	size_t app_len = len - HEADER_LEN;
	int rc = e2m_app_id_check((const char *)app, app_len);
	if (rc != E2M_ID_OK)
		return rc;
	if (out) {
		out->key_id = key_id;
		out->app_id_len = (uint8_t)app_len;
		memcpy(out->app_id, app, app_len);
		out->app_id[app_len] = '\0';
	}
	return E2M_ID_OK;
}

const char *e2m_identity_strerror(int reason)
{
	switch (reason) {
	case E2M_ID_OK:
		return "ok";
	case E2M_ID_TOO_LONG:
		return "identity over 128 octets";
	case E2M_ID_BAD_PREFIX:
		return "identity does not start with \"e2m.\"";
	case E2M_ID_BAD_KEY_ID:
		return "key id is not exactly 8 lowercase hex digits";
	case E2M_ID_NO_AT:
		return "no '@' after the key id";
	case E2M_ID_EMPTY_APP:
		return "empty application identity";
	case E2M_ID_APP_TOO_LONG:
		return "application identity over 115 octets";
	case E2M_ID_BAD_CHAR:
		return "NUL, control byte or invalid UTF-8 in the application identity";
	default:
		return "unknown reason";
	}
}
