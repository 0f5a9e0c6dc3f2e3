/* The HSS simulator (build/emks-hss): the UE population file (control/hss/population.c) and the
 * HTTP/2 mutual-TLS client that pushes to the EMKS (control/hss/push.c). */
#ifndef EMSE_HSS_H
#define EMSE_HSS_H

#include <stddef.h>
#include <stdint.h>
#include "emse/e2m.h"
#include "emse/emks_store.h"

#define HSS_APP_IDS_MAX 8
#define HSS_EMSE_IDS_MAX 16

/* One UE of the population file. Line format (docs/emks.md), fields separated by blanks:
 *   imsi k opc app_id[,app_id...] emse_id[,emse_id...] [rand|hash]
 * imsi 5..15 digits; k, opc 32 hex digits (either case); app ids 1..115 and EMSE_Ids 1..64
 * printable octets without blanks or commas; the last field is the key id mode of SPEC.md 6
 * (default rand: key id from RAND; hash: from SHA-256(e2m_int_key), pushed without keyId). '#' starts a comment line; blank lines are skipped. */
struct hss_ue {
	char imsi[EMKS_IMSI_MAX + 1];
	uint8_t k[16], opc[16];
	size_t n_app, n_emse;
	char app_ids[HSS_APP_IDS_MAX][E2M_APP_ID_MAX + 1];
	char emse_ids[HSS_EMSE_IDS_MAX][E2M_EMSE_ID_MAX + 1];
	int key_id_mode;  /* EMKS_KEY_ID_RAND or EMKS_KEY_ID_HASH */
};

/* 1: a UE in *out; 0: blank or comment; -1: malformed, reason in err. line is NUL-terminated. */
int hss_population_parse_line(const char *line, struct hss_ue *out, char *err, size_t err_len);
/* Loads a whole file; on error err names the line. Free with hss_population_free (wipes K, OPc). */
int hss_population_load(const char *path, struct hss_ue **out, size_t *n, char *err, size_t err_len);
void hss_population_free(struct hss_ue *ues, size_t n);

struct hss_client;
struct hss_client_config {
	const char *base_url;  /* "https://127.0.0.1:8443" (the API base path is appended) */
	const char *cert, *key, *ca;
	long timeout_ms;
	int retries;           /* extra attempts after a 429/503 (honouring Retry-After) */
};
struct hss_client *hss_client_new(const struct hss_client_config *cfg, char *err, size_t err_len);
void hss_client_free(struct hss_client *c);
/* One request with a JSON body over the client's reused HTTP/2 connection. Returns the HTTP
 * status (e.g. 204), or -1 on a transport error (message in err). resp gets the body, truncated. */
long hss_client_request(struct hss_client *c, const char *method, const char *path,
			const char *json, char *resp, size_t resp_len, char *err, size_t err_len);

#endif
