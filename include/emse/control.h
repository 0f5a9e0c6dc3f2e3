/* The control plane as the workers see it: a request ring (multi-producer, single consumer) on
 * which a worker posts a key fetch for a parked handshake, and one completion ring per worker
 * (single producer, single consumer). The worker never waits: it posts, goes on, and polls its
 * completion ring once per loop. The key itself travels through the key cache, not the rings. */
#ifndef EMSE_CONTROL_H
#define EMSE_CONTROL_H

#include <stdint.h>
#include "emse/e2m.h"

#define EMSE_MAX_WORKERS 64
#define EMSE_MAX_EMSE 16

struct emse_key_request {
	uint64_t token;      /* opaque to the control plane: the worker's session handle */
	uint32_t key_id;
	uint16_t emse_idx;   /* index of the EMSE (listener's key cache) */
	uint8_t worker;
	uint8_t app_id_len;
	char app_id[E2M_APP_ID_MAX + 1];
} __attribute__((aligned(8)));

enum emse_fetch_status {
	EMSE_FETCH_OK = 0,       /* key is in the cache now */
	EMSE_FETCH_NO_KEY,       /* 204: negative entry in the cache */
	EMSE_FETCH_FORBIDDEN,    /* 403 */
	EMSE_FETCH_TIMEOUT,
	EMSE_FETCH_UNAVAILABLE,  /* EMKS down, breaker open, 429/503 beyond retries */
	EMSE_FETCH_ERROR,        /* malformed answer, other status */
	EMSE_FETCH_OVERLOAD,     /* the request ring or the in-flight table was full */
	EMSE_FETCH__COUNT
};
const char *emse_fetch_status_name(enum emse_fetch_status s);

struct emse_key_completion {
	uint64_t token;
	uint32_t status; /* enum emse_fetch_status */
	uint32_t pad;
};

struct emse_control;
struct emse_keycache;

/* Worker side. Returns 0 if posted, -1 if the ring is full (count it, fail the handshake). */
int emse_control_post(struct emse_control *c, const struct emse_key_request *req);
/* Worker side: takes up to n completions for this worker. */
unsigned emse_control_poll(struct emse_control *c, unsigned worker,
			   struct emse_key_completion *out, unsigned n);
/* The key cache of EMSE number emse_idx. */
struct emse_keycache *emse_control_cache(struct emse_control *c, unsigned emse_idx);

#endif
