/* The EMKS API of SPEC.md section 4, independent of the transport: a request (caller identity from
 * its certificate, method, path, body) in, a response (status, content type, body) out. The
 * HTTP/2 server (control/emks/h2server.c) and the unit tests drive it the same way. */
#ifndef EMSE_EMKS_API_H
#define EMSE_EMKS_API_H

#include <stddef.h>
#include <stdint.h>
#include "emse/e2m.h"
#include "emse/emks_store.h"

#define EMKS_BASE_PATH "/nemks-e2m/v1"
#define EMKS_BATCH_MAX 256
#define EMKS_BODY_MAX (256 * 1024)

enum emks_peer_role {
	EMKS_PEER_NONE = 0,  /* a certificate of our CA with no role we know: 403 everywhere */
	EMKS_PEER_EMSE,
	EMKS_PEER_HSS,
};

struct emks_peer {
	enum emks_peer_role role;
	char emse_id[E2M_EMSE_ID_MAX + 1];  /* EMKS_PEER_EMSE only */
	char cert_fp[EMKS_CERT_FP_LEN + 1]; /* SHA-256 of the certificate (DER), hex; "" if none */
};

#define EMKS_IMSI_EMSE_MAX 64
struct emks_api_config {
	struct emks_store *store;
	unsigned rate_limit;  /* EMSE-facing requests per second before 503; 0 = no limit */
	/* EMSE_Ids (certificate CNs) allowed to name UEs by IMSI (SPEC.md 6, case 1): the operator
	 * decides who may learn IMSIs. Others get 403 IMSI_NOT_ALLOWED. */
	const char *imsi_emse[EMKS_IMSI_EMSE_MAX];
	unsigned n_imsi_emse;
};

struct emks_api_stats {
	uint64_t requests, keys_served, no_key, forbidden, bad_request, overload, errors;
	uint64_t imsi_requests, imsi_refused, emse_registered, emseid_omitted;
};

struct emks_api {
	struct emks_store *store;
	struct e2m_params params;
	unsigned rate_limit;
	int64_t rate_second;
	unsigned rate_count;
	struct emks_api_stats stats;
	const char *const *imsi_emse;
	unsigned n_imsi_emse;
};

void emks_api_init(struct emks_api *api, const struct emks_api_config *cfg);

/* Makes jansson wipe every block it frees: request bodies carry e2mIntKey. Call once, first. */
void emks_json_wipe_on_free(void);

struct emks_response {
	int status;
	const char *content_type;  /* NULL when there is no body */
	char *body;                /* malloc'd, may hold key material: free with emks_response_clear */
	size_t body_len;
	unsigned retry_after;      /* seconds; 0 = no Retry-After header */
};

/* now: wall clock, seconds since the epoch (expiry times); mono_s: a monotonic second counter
 * (rate limit). Never fails: errors become ProblemDetails responses. */
void emks_api_handle(struct emks_api *api, const struct emks_peer *peer, const char *method,
		     const char *path, const uint8_t *body, size_t body_len, int64_t now,
		     int64_t mono_s, struct emks_response *resp);
/* Wipes and frees the body. */
void emks_response_clear(struct emks_response *resp);

/* ---- request parsing, strict, for untrusted bytes (exposed for the unit tests) ---- */
struct emks_key_req {
	char app_id[E2M_APP_ID_MAX + 1];   /* "" when by_imsi */
	char emse_id[E2M_EMSE_ID_MAX + 1]; /* "" when !has_emse_id */
	uint32_t key_id;
	char imsi[EMKS_IMSI_MAX + 1];      /* by_imsi: the EMSE translated (SPEC.md 6, case 1) */
	uint8_t by_imsi, has_emse_id;
};

struct emks_subscriber_req {
	size_t n_app, n_emse;
	char app_ids[EMKS_SUB_LIST_MAX][E2M_APP_ID_MAX + 1];
	char emse_ids[EMKS_SUB_LIST_MAX][E2M_EMSE_ID_MAX + 1];
	int key_id_mode;  /* "keyIdMode": EMKS_KEY_ID_RAND (default) or _HASH */
};

/* All return 0 on success, -1 on any malformation (MANDATORY_IE_INCORRECT). */
int emks_parse_key_id(const char *s, uint32_t *key_id);  /* exactly 8 lowercase hex digits */
int emks_valid_imsi(const char *s);                      /* 1 if 5..15 decimal digits */
int emks_parse_retrieve(const uint8_t *body, size_t len, struct emks_key_req *out);
/* out: caller's array of EMKS_BATCH_MAX entries. */
int emks_parse_batch(const uint8_t *body, size_t len, struct emks_key_req *out, size_t *n);
int emks_parse_register(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1],
			uint32_t *key_id, uint8_t int_key[E2M_KEY_LEN]);
/* As emks_parse_register, keyId optional (hash-mode UEs, SPEC.md 6): *has_key_id tells. */
int emks_parse_register_opt(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1],
			    int *has_key_id, uint32_t *key_id, uint8_t int_key[E2M_KEY_LEN]);
/* register-emse: {"emseId": ...}. */
int emks_parse_register_emse(const uint8_t *body, size_t len, char emse_id[E2M_EMSE_ID_MAX + 1]);
int emks_parse_subscriber(const uint8_t *body, size_t len, struct emks_subscriber_req *out);
int emks_parse_remove(const uint8_t *body, size_t len, char imsi[EMKS_IMSI_MAX + 1]);

#endif
