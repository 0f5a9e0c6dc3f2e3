/* The EMKS wire format as the EMSE speaks it (SPEC.md section 4): the retrieve-e2mkeys request
 * body, the strict parser of its answer, RFC 3339 times and Retry-After. Pure functions, no I/O:
 * the HTTP side is in keyprov_emks.c. */
#ifndef EMSE_EMKS_CLIENT_H
#define EMSE_EMKS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "emse/keyprov.h"

#define EMKS_PATH_RETRIEVE_BATCH "/nemks-e2m/v1/retrieve-e2mkeys"
#define EMKS_PATH_REGISTER_EMSE "/nemks-e2m/v1/register-emse"
/* A 256-result answer is ~45 KiB; anything far larger is not an EMKS answer. */
#define EMKS_BODY_MAX (1u << 20)

/* {"requests":[{"ueAppId":..,"keyId":"<8 hex>","emseId":..},..]}; malloc'd, NULL on failure.
 * An item with an imsi is sent as {"imsi":..} instead of ueAppId (the EMSE translated); with
 * omit_emse_id (a registered EMSE, SPEC.md 6) no entry carries emseId. */
char *emks_build_batch_request(const char *emse_id, const struct emse_keyprov_item *items,
			       unsigned n);
char *emks_build_batch_request_ex(const char *emse_id, int omit_emse_id,
				  const struct emse_keyprov_item *items, unsigned n);

/* Parses a 200 answer to a batch of n items. The body as a whole must be an object whose
 * "results" array has exactly n objects; otherwise returns -1 and every result is ERROR. Each
 * result: {"status":200,"e2mKey":<64 lowercase hex>,"keyId":<the requested id, 8 lowercase hex>,
 * "expiry":<RFC 3339>} -> OK; {"status":204} -> NO_KEY; {"status":403,..} -> FORBIDDEN; anything
 * else -> ERROR for that item, counted in *bad_items. Returns 0. now_s: unix seconds (unused for
 * validation of the expiry beyond its syntax; the caller decides about past expiries). */
int emks_parse_batch_response(const char *body, size_t len, const struct emse_keyprov_item *items,
			      unsigned n, struct emse_keyprov_result *res, unsigned *bad_items);

/* "2026-11-28T08:00:00Z", "...T08:00:00.123+01:00" -> unix seconds. 0 or -1. */
int emks_parse_rfc3339(const char *s, uint64_t *out);

/* A Retry-After value: delta-seconds or an IMF-fixdate. Returns 0 and the delay in seconds from
 * now_s (0 if the date is past; capped at 3600), or -1. */
int emks_parse_retry_after(const char *value, uint64_t now_s, uint32_t *delay_s);

#endif
