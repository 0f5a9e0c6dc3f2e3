/* Request dispatch and the five operations of SPEC.md section 4, with authorisation by the
 * caller's certificate role (include/emse/emks_api.h). */
#include "emse/emks_api.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAUSE_EMSE_FORBIDDEN "EMSE_NOT_AUTHORIZED"
#define CAUSE_HSS_FORBIDDEN "HSS_NOT_AUTHORIZED"
#define CAUSE_BAD_IE "MANDATORY_IE_INCORRECT"
#define CAUSE_IMSI_FORBIDDEN "IMSI_NOT_ALLOWED"

/* lookup_one's answers beyond the store's. */
enum { LOOKUP_IMSI_NOT_ALLOWED = 100, LOOKUP_UNREGISTERED = 101 };

void emks_api_init(struct emks_api *api, const struct emks_api_config *cfg)
{
	memset(api, 0, sizeof(*api));
	api->store = cfg->store;
	api->rate_limit = cfg->rate_limit;
	api->imsi_emse = cfg->imsi_emse;
	api->n_imsi_emse = cfg->n_imsi_emse;
	e2m_params_default(&api->params);
}

void emks_response_clear(struct emks_response *resp)
{
	if (resp->body) {
		OPENSSL_cleanse(resp->body, resp->body_len);
		free(resp->body);
	}
	memset(resp, 0, sizeof(*resp));
}

static void problem(struct emks_response *resp, int status, const char *cause, const char *detail)
{
	resp->status = status;
	json_t *j = json_pack("{sissss}", "status", status, "cause", cause, "detail", detail);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s) {
		resp->body = s;
		resp->body_len = strlen(s);
		resp->content_type = "application/problem+json";
	}
}

static void no_content(struct emks_response *resp)
{
	resp->status = 204;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One key answer as a JSON object body (without braces' neighbours): every value is hex or a
 * timestamp, so no escaping is needed, and building it by hand keeps the key out of jansson. */
static int format_key(char *out, size_t size, const char *prefix, const uint8_t key[E2M_KEY_LEN],
		      uint32_t key_id, int64_t expiry)
{
	char hex[2 * E2M_KEY_LEN + 1], ts[32];
	e2m_hex_encode(key, E2M_KEY_LEN, hex);
	rfc3339(expiry, ts);
	int n = snprintf(out, size, "{%s\"e2mKey\":\"%s\",\"keyId\":\"%08x\",\"expiry\":\"%s\"}",
			 prefix, hex, key_id, ts);
	OPENSSL_cleanse(hex, sizeof(hex));
	return n;
}

static int imsi_allowed(const struct emks_api *api, const struct emks_peer *peer)
{
	for (unsigned i = 0; i < api->n_imsi_emse; i++)
		if (strcmp(api->imsi_emse[i], peer->emse_id) == 0)
			return 1;
	return 0;
}

/* The EMSE_Id a request is for: its emseId, or the one its certificate registered. */
static int request_emse_id(struct emks_api *api, const struct emks_peer *peer,
			   const struct emks_key_req *req, char out[E2M_EMSE_ID_MAX + 1])
{
	if (req->has_emse_id) {
		memcpy(out, req->emse_id, sizeof(req->emse_id));
		return EMKS_STORE_OK;
	}
	if (!peer->cert_fp[0])
		return EMKS_STORE_NO_KEY;
	return emks_store_bound_emse(api->store, peer->cert_fp, out);
}

/* Looks one request up and derives the EMSE's key. Returns a store result or LOOKUP_*. */
static int lookup_one(struct emks_api *api, const struct emks_peer *peer,
		      const struct emks_key_req *req, int64_t now, uint8_t key[E2M_KEY_LEN],
		      int64_t *expiry)
{
	char emse_id[E2M_EMSE_ID_MAX + 1];
	int rc = request_emse_id(api, peer, req, emse_id);
	if (rc == EMKS_STORE_NO_KEY)
		return LOOKUP_UNREGISTERED;
	if (rc != EMKS_STORE_OK)
		return rc;
	if (!req->has_emse_id)
		api->stats.emseid_omitted++;
	if (strcmp(emse_id, peer->emse_id) != 0)
		return EMKS_STORE_FORBIDDEN;
	if (req->by_imsi) {
		api->stats.imsi_requests++;
		if (!imsi_allowed(api, peer)) {
			api->stats.imsi_refused++;
			return LOOKUP_IMSI_NOT_ALLOWED;
		}
	}
	uint8_t int_key[E2M_KEY_LEN];
	rc = emks_store_lookup_ue(api->store, req->by_imsi ? EMKS_UE_BY_IMSI : EMKS_UE_BY_APP_ID,
				  req->by_imsi ? req->imsi : req->app_id, req->key_id, emse_id, now,
				  int_key, expiry);
	if (rc == EMKS_STORE_OK &&
	    e2m_key(&api->params, int_key, emse_id, strlen(emse_id), key) != 0)
		rc = EMKS_STORE_ERROR;
	OPENSSL_cleanse(int_key, sizeof(int_key));
	return rc;
}

static void count(struct emks_api *api, int rc)
{
	switch (rc) {
	case EMKS_STORE_OK: api->stats.keys_served++; break;
	case EMKS_STORE_NO_KEY: api->stats.no_key++; break;
	case EMKS_STORE_FORBIDDEN:
	case LOOKUP_IMSI_NOT_ALLOWED: api->stats.forbidden++; break;
	case LOOKUP_UNREGISTERED: api->stats.bad_request++; break;
	default: api->stats.errors++; break;
	}
}

static void retrieve_one(struct emks_api *api, const struct emks_peer *peer, const uint8_t *body,
			 size_t len, int64_t now, struct emks_response *resp)
{
	struct emks_key_req req;
	if (emks_parse_retrieve(body, len, &req) != 0) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE,
			"need ueAppId or imsi, keyId (8 lowercase hex), emseId (or register-emse)");
		return;
	}
	uint8_t key[E2M_KEY_LEN];
	int64_t expiry = 0;
	int rc = lookup_one(api, peer, &req, now, key, &expiry);
	count(api, rc);
	if (rc == EMKS_STORE_OK) {
		size_t size = 256;
		char *out = malloc(size);
		if (!out) {
			problem(resp, 500, "SYSTEM_FAILURE", "out of memory");
		} else {
			resp->status = 200;
			resp->body = out;
			resp->body_len = (size_t)format_key(out, size, "", key, req.key_id, expiry);
			resp->content_type = "application/json";
		}
	} else if (rc == EMKS_STORE_NO_KEY) {
		no_content(resp);
	} else if (rc == EMKS_STORE_FORBIDDEN) {
		problem(resp, 403, CAUSE_EMSE_FORBIDDEN,
			strcmp(req.has_emse_id ? req.emse_id : peer->emse_id, peer->emse_id) != 0
				? "emseId is not the one in the client certificate"
				: "this EMSE may not serve this UE");
	} else if (rc == LOOKUP_IMSI_NOT_ALLOWED) {
		problem(resp, 403, CAUSE_IMSI_FORBIDDEN, "this EMSE may not name UEs by IMSI");
	} else if (rc == LOOKUP_UNREGISTERED) {
		problem(resp, 400, CAUSE_BAD_IE,
			"emseId omitted, but this certificate has not called register-emse");
	} else {
		problem(resp, 500, "SYSTEM_FAILURE", "key store error");
	}
	OPENSSL_cleanse(key, sizeof(key));
}

static void retrieve_batch(struct emks_api *api, const struct emks_peer *peer, const uint8_t *body,
			   size_t len, int64_t now, struct emks_response *resp)
{
	struct emks_key_req *reqs = malloc(EMKS_BATCH_MAX * sizeof(*reqs));
	/* 200 entries are at most ~180 octets; the others are shorter. */
	const size_t per_entry = 256;
	size_t n = 0, size = 0, used = 0;
	char *out = NULL;
	if (!reqs) {
		problem(resp, 500, "SYSTEM_FAILURE", "out of memory");
		return;
	}
	if (emks_parse_batch(body, len, reqs, &n) != 0) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE,
			"need requests: 1..256 of {ueAppId or imsi, keyId (8 lowercase hex), emseId}");
		goto done;
	}
	size = 16 + n * per_entry;
	out = malloc(size);
	if (!out) {
		problem(resp, 500, "SYSTEM_FAILURE", "out of memory");
		goto done;
	}
	used = (size_t)snprintf(out, size, "{\"results\":[");
	for (size_t i = 0; i < n; i++) {
		uint8_t key[E2M_KEY_LEN];
		int64_t expiry = 0;
		int rc = lookup_one(api, peer, &reqs[i], now, key, &expiry);
		count(api, rc);
		const char *sep = i ? "," : "";
		used += (size_t)snprintf(out + used, size - used, "%s", sep);
		if (rc == EMKS_STORE_OK)
			used += (size_t)format_key(out + used, size - used, "\"status\":200,", key,
						   reqs[i].key_id, expiry);
		else if (rc == EMKS_STORE_NO_KEY)
			used += (size_t)snprintf(out + used, size - used, "{\"status\":204}");
		else if (rc == EMKS_STORE_FORBIDDEN)
			used += (size_t)snprintf(out + used, size - used,
						 "{\"status\":403,\"cause\":\"" CAUSE_EMSE_FORBIDDEN "\"}");
		else if (rc == LOOKUP_IMSI_NOT_ALLOWED)
			used += (size_t)snprintf(out + used, size - used,
						 "{\"status\":403,\"cause\":\"" CAUSE_IMSI_FORBIDDEN "\"}");
		OPENSSL_cleanse(key, sizeof(key));
		if (rc == LOOKUP_UNREGISTERED) {
			/* Every entry names the same certificate: the whole batch is the sender's bug. */
			OPENSSL_cleanse(out, size);
			free(out);
			out = NULL;
			problem(resp, 400, CAUSE_BAD_IE,
				"emseId omitted, but this certificate has not called register-emse");
			goto done;
		}
		if (rc == EMKS_STORE_ERROR) {
			OPENSSL_cleanse(out, size);
			free(out);
			out = NULL;
			problem(resp, 500, "SYSTEM_FAILURE", "key store error");
			goto done;
		}
	}
	used += (size_t)snprintf(out + used, size - used, "]}");
	resp->status = 200;
	resp->body = out;
	resp->body_len = used;
	resp->content_type = "application/json";
done:
	free(reqs);
}

static void register_intkey(struct emks_api *api, const uint8_t *body, size_t len, int64_t now,
			    struct emks_response *resp)
{
	char imsi[EMKS_IMSI_MAX + 1];
	uint32_t key_id;
	uint8_t key[E2M_KEY_LEN];
	int has_key_id = 0, mode = EMKS_KEY_ID_RAND;
	int bad = emks_parse_register_opt(body, len, imsi, &has_key_id, &key_id, key) != 0;
	/* Only a hash-mode UE's key is named without keyId: the EMKS derives it (SPEC.md 6). */
	if (!bad && !has_key_id && (mode = emks_store_key_id_mode(api->store, imsi)) < 0) {
		api->stats.errors++;
		problem(resp, 500, "SYSTEM_FAILURE", "key store error");
	} else if (bad || (!has_key_id && mode != EMKS_KEY_ID_HASH)) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE,
			bad ? "need imsi (5..15 digits), keyId (8 lowercase hex), e2mIntKey (64 lowercase hex)"
			    : "keyId is mandatory for a UE whose keyIdMode is rand");
	} else if (emks_store_push(api->store, imsi, has_key_id, key_id, key, now) != EMKS_STORE_OK) {
		api->stats.errors++;
		problem(resp, 500, "SYSTEM_FAILURE", "key store error");
	} else {
		no_content(resp);
	}
	OPENSSL_cleanse(key, sizeof(key));
}

static void put_subscriber(struct emks_api *api, const char *imsi, const uint8_t *body, size_t len,
			   struct emks_response *resp)
{
	struct emks_subscriber_req *sub = malloc(sizeof(*sub));
	if (!sub) {
		problem(resp, 500, "SYSTEM_FAILURE", "out of memory");
		return;
	}
	const char *apps[EMKS_SUB_LIST_MAX], *emses[EMKS_SUB_LIST_MAX];
	if (!emks_valid_imsi(imsi) || emks_parse_subscriber(body, len, sub) != 0) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE,
			"need imsi (5..15 digits) in the path, ueAppIds and emseIds arrays, "
			"keyIdMode rand or hash if given");
		goto done;
	}
	for (size_t i = 0; i < sub->n_app; i++)
		apps[i] = sub->app_ids[i];
	for (size_t i = 0; i < sub->n_emse; i++)
		emses[i] = sub->emse_ids[i];
	if (emks_store_put_subscriber_mode(api->store, imsi, apps, sub->n_app, emses, sub->n_emse,
					   sub->key_id_mode) != EMKS_STORE_OK) {
		api->stats.errors++;
		problem(resp, 500, "SYSTEM_FAILURE", "store error");
	} else {
		no_content(resp);
	}
done:
	free(sub);
}

static void remove_context(struct emks_api *api, const uint8_t *body, size_t len,
			   struct emks_response *resp)
{
	char imsi[EMKS_IMSI_MAX + 1];
	if (emks_parse_remove(body, len, imsi) != 0) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE, "need imsi (5..15 digits)");
	} else if (emks_store_remove_context(api->store, imsi) != EMKS_STORE_OK) {
		api->stats.errors++;
		problem(resp, 500, "SYSTEM_FAILURE", "store error");
	} else {
		no_content(resp);
	}
}

/* Binds the caller's certificate to an EMSE_Id it may serve: its own (the certificate's CN). */
static void register_emse(struct emks_api *api, const struct emks_peer *peer, const uint8_t *body,
			  size_t len, struct emks_response *resp)
{
	char emse_id[E2M_EMSE_ID_MAX + 1];
	if (emks_parse_register_emse(body, len, emse_id) != 0) {
		api->stats.bad_request++;
		problem(resp, 400, CAUSE_BAD_IE, "need emseId (1..64 octets)");
	} else if (strcmp(emse_id, peer->emse_id) != 0 || !peer->cert_fp[0]) {
		api->stats.forbidden++;
		problem(resp, 403, CAUSE_EMSE_FORBIDDEN, "this certificate may not serve that emseId");
	} else if (emks_store_bind_emse(api->store, peer->cert_fp, emse_id) != EMKS_STORE_OK) {
		api->stats.errors++;
		problem(resp, 500, "SYSTEM_FAILURE", "store error");
	} else {
		api->stats.emse_registered++;
		no_content(resp);
	}
}

/* A fixed window of one second: coarse, but enough to shed a flood with a clear Retry-After. */
static int over_limit(struct emks_api *api, int64_t mono_s)
{
	if (!api->rate_limit)
		return 0;
	if (mono_s != api->rate_second) {
		api->rate_second = mono_s;
		api->rate_count = 0;
	}
	return ++api->rate_count > api->rate_limit;
}

void emks_api_handle(struct emks_api *api, const struct emks_peer *peer, const char *method,
		     const char *path, const uint8_t *body, size_t body_len, int64_t now,
		     int64_t mono_s, struct emks_response *resp)
{
	static const char base[] = EMKS_BASE_PATH "/";
	static const char subs[] = "subscribers/";
	memset(resp, 0, sizeof(*resp));
	api->stats.requests++;
	size_t plen = strcspn(path, "?");
	if (plen <= strlen(base) || strncmp(path, base, strlen(base)) != 0 || plen > 256) {
		problem(resp, 404, "RESOURCE_URI_STRUCTURE_NOT_FOUND", "unknown resource");
		return;
	}
	char op[257];
	memcpy(op, path + strlen(base), plen - strlen(base));
	op[plen - strlen(base)] = '\0';

	int reg_op = !strcmp(op, "register-emse");
	int emse_op = reg_op || !strcmp(op, "retrieve-e2mkey") || !strcmp(op, "retrieve-e2mkeys");
	int sub_op = !strncmp(op, subs, strlen(subs));
	int hss_op = sub_op || !strcmp(op, "register-intkey") || !strcmp(op, "remove-context");
	if (!emse_op && !hss_op) {
		problem(resp, 404, "RESOURCE_URI_STRUCTURE_NOT_FOUND", "unknown resource");
		return;
	}
	if (strcmp(method, sub_op ? "PUT" : "POST") != 0) {
		problem(resp, 405, "METHOD_NOT_ALLOWED", sub_op ? "use PUT" : "use POST");
		return;
	}
	if (emse_op) {
		if (peer->role != EMKS_PEER_EMSE) {
			api->stats.forbidden++;
			problem(resp, 403, CAUSE_EMSE_FORBIDDEN, "not an EMSE certificate");
			return;
		}
		if (over_limit(api, mono_s)) {
			api->stats.overload++;
			problem(resp, 503, "NF_CONGESTION", "request rate limit exceeded");
			resp->retry_after = 1;
			return;
		}
		if (reg_op)
			register_emse(api, peer, body, body_len, resp);
		else if (op[strlen(op) - 1] == 's')
			retrieve_batch(api, peer, body, body_len, now, resp);
		else
			retrieve_one(api, peer, body, body_len, now, resp);
		return;
	}
	if (peer->role != EMKS_PEER_HSS) {
		api->stats.forbidden++;
		problem(resp, 403, CAUSE_HSS_FORBIDDEN, "not the HSS certificate");
		return;
	}
	if (sub_op)
		put_subscriber(api, op + strlen(subs), body, body_len, resp);
	else if (!strcmp(op, "register-intkey"))
		register_intkey(api, body, body_len, now, resp);
	else
		remove_context(api, body, body_len, resp);
}
