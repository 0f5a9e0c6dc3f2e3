/* The 3GPP e2m key hierarchy (SPEC.md sections 1-3), shared by the EMSE, the reference EMKS/HSS
 * and the UE simulator. All functions are pure; callers wipe outputs with e2m_wipe(). */
#ifndef EMSE_E2M_H
#define EMSE_E2M_H

#include <stddef.h>
#include <stdint.h>

#define E2M_KEY_LEN 32
#define E2M_EMSE_ID_MAX 64
#define E2M_APP_ID_MAX 115
#define E2M_PSK_IDENTITY_MAX 128
#define E2M_MAX_KDF_PARAMS 8

/* The private values of SPEC.md, as settings with its defaults (e2m_params_default()). */
struct e2m_params {
	uint8_t fc_int_key[2];  /* 0xFF 0xE0 */
	uint8_t fc_e2m_key[2];  /* 0xFF 0xE1 */
	uint8_t fc_access[2];   /* 0xFF 0xE2 */
	size_t fc_len;          /* 2: the two-octet form 0xFF || FC2; 1: one octet fc_*[0] */
	char label[32];         /* "e2m_CIoT" */
	char access_label[32];  /* "e2m_access" */
};
void e2m_params_default(struct e2m_params *p);

/* TS 33.220 Annex B.2.0: HMAC-SHA-256(key, fc || P0 || L0 || ... ). fc_len is 1 or 2. */
struct e2m_kdf_param {
	const uint8_t *data;
	size_t len;
};
int e2m_kdf(const uint8_t *key, size_t key_len, const uint8_t *fc, size_t fc_len,
	    const struct e2m_kdf_param *params, size_t n_params, uint8_t out[32]);

/* Milenage, TS 35.206. All return 0 on success. */
int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);
int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8]);
/* f2 (res), f3 (ck), f4 (ik), f5 (ak), f5* (ak_star); any output may be NULL. */
int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6], uint8_t ak_star[6]);

/* The chain of SPEC.md section 1-2. p may be NULL for SPEC.md's defaults. */
int e2m_access_keys(const struct e2m_params *p, const uint8_t ck[16], const uint8_t ik[16],
		    const uint8_t sqn_xor_ak[6], uint8_t ck_prime[16], uint8_t ik_prime[16]);
int e2m_int_key(const struct e2m_params *p, const uint8_t ck[16], const uint8_t ik[16],
		uint8_t int_key[E2M_KEY_LEN]);
uint32_t e2m_key_id(const uint8_t rand[16]);
/* SPEC.md section 6, alternative 2: the first 4 octets of SHA-256(e2m_int_key), big-endian. */
uint32_t e2m_key_id_hash(const uint8_t int_key[E2M_KEY_LEN]);
/* emse_id: 1..64 octets of printable UTF-8 (e2m_emse_id_check). */
int e2m_key(const struct e2m_params *p, const uint8_t int_key[E2M_KEY_LEN], const char *emse_id,
	    size_t emse_id_len, uint8_t key[E2M_KEY_LEN]);

/* PSK identity "e2m." hex8(key_id) "@" ue_app_id (SPEC.md section 3). */
struct e2m_identity {
	uint32_t key_id;
	uint8_t app_id_len;                 /* 1..115 */
	char app_id[E2M_APP_ID_MAX + 1];    /* NUL-terminated copy */
};
/* Writes the identity and a NUL; returns its length, or -1 if app_id is invalid or out too small. */
int e2m_identity_encode(uint32_t key_id, const char *app_id, size_t app_id_len, char *out,
			size_t out_size);
/* Strict parser for untrusted bytes (not NUL-terminated). Returns 0 or a negative E2M_ID_* reason. */
enum {
	E2M_ID_OK = 0,
	E2M_ID_TOO_LONG = -1,     /* over 128 octets */
	E2M_ID_BAD_PREFIX = -2,   /* not "e2m." */
	E2M_ID_BAD_KEY_ID = -3,   /* not exactly 8 lowercase hex digits */
	E2M_ID_NO_AT = -4,        /* no '@' after the key id */
	E2M_ID_EMPTY_APP = -5,
	E2M_ID_APP_TOO_LONG = -6, /* over 115 octets */
	E2M_ID_BAD_CHAR = -7,     /* NUL, control byte, or invalid UTF-8 in the app id */
};
int e2m_identity_parse(const uint8_t *buf, size_t len, struct e2m_identity *out);
const char *e2m_identity_strerror(int reason);
/* Validates a ue_app_id on its own: E2M_ID_OK, _EMPTY_APP, _APP_TOO_LONG or _BAD_CHAR. */
int e2m_app_id_check(const char *app_id, size_t len);
/* 0 if emse_id is 1..64 octets of printable UTF-8, else -1. */
int e2m_emse_id_check(const char *emse_id, size_t len);
/* 1 if s is valid UTF-8 (no overlong forms, surrogates, or code points past U+10FFFF) without
 * C0/C1 control characters or DEL, else 0. */
int e2m_printable_utf8(const uint8_t *s, size_t len);

/* Hex helpers: lowercase out; parse accepts exactly 2*len hex digits. */
void e2m_hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
int e2m_hex_decode(const char *hex, uint8_t *out, size_t len);

/* Wipes key material (OPENSSL_cleanse). */
void e2m_wipe(void *p, size_t len);

#endif
