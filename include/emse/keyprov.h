/* Where the control thread gets keys from: the lab key file or the EMKS, interchangeable behind one
 * interface. The control thread merges and batches worker requests, then hands a provider a batch
 * of up to EMSE_KEYPROV_BATCH_MAX items for one EMSE; the provider answers each item of the batch
 * with a status and, for OK, a key and its expiry. Everything here runs on the control thread. */
#ifndef EMSE_KEYPROV_H
#define EMSE_KEYPROV_H

#include <stddef.h>
#include <stdint.h>
#include "emse/e2m.h"

#define EMSE_KEYPROV_BATCH_MAX 256

struct emse_keycache;

struct emse_keyprov_item {
	uint32_t key_id;
	uint8_t app_id_len;
	char app_id[E2M_APP_ID_MAX + 1]; /* NUL-terminated */
	char imsi[16];                   /* "" or the IMSI the EMSE translated app_id to (SPEC.md 6):
					  * then the request names the UE by imsi, not ueAppId */
};

struct emse_keyprov_result {
	uint32_t status;  /* enum emse_fetch_status (emse/control.h) */
	uint64_t expiry;  /* OK: unix seconds */
	uint8_t key[E2M_KEY_LEN]; /* OK: the key; the receiver wipes it */
};

/* Errors by kind, for telemetry. */
enum emse_keyprov_err {
	EMSE_PERR_CONNECT = 0, /* connection refused, DNS, reset */
	EMSE_PERR_TLS,         /* handshake, certificate */
	EMSE_PERR_TIMEOUT,
	EMSE_PERR_HTTP_429,
	EMSE_PERR_HTTP_503,
	EMSE_PERR_HTTP_5XX,    /* other 5xx */
	EMSE_PERR_HTTP_4XX,    /* 400, 401, 403 on the whole batch, ... */
	EMSE_PERR_HTTP_OTHER,  /* any other unexpected status */
	EMSE_PERR_PARSE,       /* malformed body or result */
	EMSE_PERR_BREAKER,     /* batch refused while the breaker was open */
	EMSE_PERR_HELD_OFF,    /* batch refused: Retry-After holds requests back past its deadline */
	EMSE_PERR_RATE_LIMIT,  /* batch refused: max_requests_per_s would hold it past its deadline */
	EMSE_PERR_OTHER,       /* curl set-up, memory */
	EMSE_PERR__COUNT
};
const char *emse_keyprov_err_name(enum emse_keyprov_err e);

/* Upper bounds in milliseconds of the fetch latency buckets; the last bucket is everything above. */
#define EMSE_LAT_BUCKETS 12
extern const uint32_t emse_lat_bucket_ms[EMSE_LAT_BUCKETS - 1];
void emse_lat_hist_add(uint64_t hist[EMSE_LAT_BUCKETS], uint64_t ms);

enum emse_breaker_state { EMSE_BREAKER_CLOSED = 0, EMSE_BREAKER_OPEN, EMSE_BREAKER_HALF_OPEN };

struct emse_keyprov_stats {
	uint64_t batches, items;                 /* accepted by submit */
	uint64_t requests, retries;              /* HTTP requests sent (retries included) */
	uint64_t rate_limited;                   /* batches that waited for a request token */
	uint64_t responses_h2;                   /* answers that came over HTTP/2 */
	uint64_t item_ok, item_no_key, item_forbidden, item_error;
	uint64_t errors[EMSE_PERR__COUNT];
	uint64_t latency_ms[EMSE_LAT_BUCKETS];   /* per HTTP request that got an answer */
	uint64_t latency_ms_sum;
	uint64_t inflight;                       /* HTTP requests in flight now */
	uint32_t breaker_state;                  /* enum emse_breaker_state */
	uint64_t breaker_opens, breaker_rejects;
	uint64_t emse_registered;                /* register-emse accepted at start-up (EMSE_Ids) */
	uint64_t emse_register_failures;         /* ... refused or failed: those keep sending emseId */
};

struct emse_keyprov;
/* Called once per accepted batch, from inside poll(), never from submit(). res has the batch's n
 * results in item order; it is only valid during the call (the provider wipes it afterwards). */
typedef void (*emse_keyprov_done_fn)(void *ctx, uint64_t batch_id, struct emse_keyprov_result *res,
				     unsigned n);

struct emse_keyprov_ops {
	const char *name;
	/* Optional: put every key the provider knows for this EMSE into its cache (lab file). */
	int (*preload)(struct emse_keyprov *p, const char *emse_id, struct emse_keycache *kc);
	/* Copies the items; 0 if accepted (done() follows exactly once), -1 if not (nothing follows).
	 * now_ms: unix milliseconds. */
	int (*submit)(struct emse_keyprov *p, uint64_t batch_id, const char *emse_id,
		      const struct emse_keyprov_item *items, unsigned n, uint64_t now_ms);
	/* Non-blocking: moves I/O on, calls done() for what finished. Returns work done (0 = idle). */
	unsigned (*poll)(struct emse_keyprov *p, uint64_t now_ms);
	void (*stats)(struct emse_keyprov *p, struct emse_keyprov_stats *out);
	/* Ends what is in flight without calling done(), frees everything, wipes keys. */
	void (*destroy)(struct emse_keyprov *p);
};

struct emse_keyprov {
	const struct emse_keyprov_ops *ops;
	emse_keyprov_done_fn done;
	void *done_ctx;
};

/* ---- the lab key file -------------------------------------------------------------------------
 * One key per line, '#' starts a comment, blank lines ignored, fields separated by blanks:
 *     <psk_identity> <64 hex key>              the key for every EMSE
 *     <emse_id> <psk_identity> <64 hex key>    the key for that EMSE only (overrides the above)
 * psk_identity is "e2m.<8 hex key id>@<app id>" (e2m_identity_parse). A line that does not parse
 * fails the whole load with its line number in err. Keys never expire (far future); a key the
 * file does not hold is answered NO_KEY. */
struct emse_keyprov *emse_keyprov_file_create(const char *path, char *err, size_t err_len);
/* The same from a string (tests). */
struct emse_keyprov *emse_keyprov_file_from_string(const char *text, char *err, size_t err_len);

/* ---- the EMKS (SPEC.md section 4) -------------------------------------------------------------- */
struct emse_emks_identity {
	const char *emse_id;
	const char *cert, *key;       /* client certificate and key (PEM) for this EMSE_Id */
};

struct emse_emks_config {
	const char *base_url;         /* "https://127.0.0.1:8443" (the base path is added) */
	const char *ca_file;          /* CA that signed the EMKS certificate */
	struct emse_emks_identity ids[16];
	unsigned n_ids;
	uint32_t connect_timeout_ms;  /* default 500 */
	uint32_t request_timeout_ms;  /* one HTTP request, default 1000 */
	uint32_t deadline_ms;         /* a batch, retries included, default 3000 */
	uint32_t max_retries;         /* default 2 */
	uint32_t backoff_base_ms;     /* first retry delay, doubled each time, default 50 */
	uint32_t backoff_max_ms;      /* default 1000 */
	uint32_t breaker_threshold;   /* consecutive failed requests that open it, default 3 */
	uint32_t breaker_open_ms;     /* fail fast this long, then let one probe through, default 1000 */
	uint32_t max_requests;        /* HTTP requests in flight at once, default 64 */
	uint32_t max_requests_per_s;  /* HTTP requests started per second (token bucket, burst of one
				       * second's worth), default 500; protects the EMKS from a flood
				       * of unknown identities beyond what batching already does */
	int register_emse;            /* POST register-emse for each identity at create, then leave
				       * emseId out of its requests (SPEC.md 6); a failure is
				       * reported and that identity keeps sending emseId */
	int verbose;                  /* curl verbose to stderr (never on in production: bodies are not
				       * printed, but headers are) */
};
void emse_emks_config_default(struct emse_emks_config *c);
struct emse_keyprov *emse_keyprov_emks_create(const struct emse_emks_config *cfg, char *err,
					      size_t err_len);

#endif
