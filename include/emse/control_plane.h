/* The control plane as the main lcore sees it: creation, the worker registration with RCU, the
 * non-blocking step the main loop interleaves with its other work, and telemetry. The worker-side
 * calls are in emse/control.h. */
#ifndef EMSE_CONTROL_PLANE_H
#define EMSE_CONTROL_PLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "emse/control.h"
#include "emse/keycache.h"
#include "emse/keyprov.h"
#include "emse/imsi_map.h"

struct rte_rcu_qsbr;

struct emse_control_config {
	unsigned n_workers;                   /* 1..EMSE_MAX_WORKERS; worker ids 0..n-1 */
	unsigned n_emse;                      /* 1..EMSE_MAX_EMSE */
	const char *emse_ids[EMSE_MAX_EMSE];  /* emse_idx -> EMSE_Id */
	uint32_t cache_capacity;              /* entries per EMSE, default 65536 */
	uint32_t request_ring_size;           /* default 4096 (power of two) */
	uint32_t completion_ring_size;        /* per worker, default 1024 (power of two) */
	uint32_t max_inflight;                /* distinct keys being fetched, default 4096 */
	uint32_t max_waiters;                 /* requests waiting for them, default 16384 */
	uint32_t batch_max;                   /* items per provider batch, 1..256, default 256 */
	uint32_t batch_delay_ms;              /* flush a partial batch after, default 1 */
	uint32_t negative_ttl_s;              /* NO_KEY / FORBIDDEN cached for, default 30 */
	struct emse_keyprov *prov;            /* owned by the control plane from create on */
	/* SPEC.md 6, case 1 ([keys] translate = emse): the control thread names each UE to the
	 * provider by the IMSI this table gives for its app id; an app id missing from it is
	 * answered NO_KEY at once (no provider request). NULL: the EMKS translates. Owned by the
	 * control plane from create on; imsi_map_path is what a reload reads. */
	struct emse_imsi_map *imsi_map;
	const char *imsi_map_path;
};
void emse_control_config_default(struct emse_control_config *cfg);

/* Creates the QSBR variable (one reader slot per worker), the caches, the rings. Needs the EAL.
 * Preloads the caches if the provider can. On failure returns NULL, writes err, and destroys prov. */
struct emse_control *emse_control_create(const struct emse_control_config *cfg, char *err,
					  size_t err_len);
/* After every worker stopped. */
void emse_control_destroy(struct emse_control *c);

/* The QSBR variable: every worker calls rte_rcu_qsbr_quiescent(qsbr, worker) once per loop. */
struct rte_rcu_qsbr *emse_control_qsbr(struct emse_control *c);
/* Called by worker `worker` on its own lcore before its first lookup (register + online), and
 * after its last (offline + unregister). */
int emse_control_worker_register(struct emse_control *c, unsigned worker);
void emse_control_worker_unregister(struct emse_control *c, unsigned worker);

/* One non-blocking step of the control thread: drain the request ring, flush due batches, drive
 * the provider, write results to the caches, deliver completions, expire and reclaim entries.
 * now_ms: unix milliseconds (emse_control_now_ms()). Returns work done; 0 means idle. */
unsigned emse_control_run_once(struct emse_control *c, uint64_t now_ms);
uint64_t emse_control_now_ms(void);
/* Blocking loop on the calling thread: run_once until *stop, sleeping ~100 us when idle. */
void emse_control_run(struct emse_control *c, volatile bool *stop);

unsigned emse_control_n_emse(const struct emse_control *c);

/* Any thread (the telemetry command /emse/imsi_map/reload): asks the control thread to read
 * imsi_map_path again and waits up to timeout_ms for it. Sessions and cached keys stay; a table
 * that fails to load leaves the old one in place. Returns 0 and the new size in *entries, -1 and
 * the reason in err (file:line for a malformed line), or -2 if the control thread did not answer
 * in time (the reload still happens), -3 if there is no table to reload. */
int emse_control_imsi_map_reload(struct emse_control *c, unsigned timeout_ms, uint64_t *entries,
				 char *err, size_t err_len);

/* Fetch latency: from the first request for a key to its result. */
struct emse_control_stats {
	unsigned n_emse, n_workers;
	struct {
		char emse_id[E2M_EMSE_ID_MAX + 1];
		struct emse_keycache_stats cache;
	} emse[EMSE_MAX_EMSE];
	uint64_t posted;              /* requests dequeued from the ring */
	uint64_t post_ring_full;      /* worker posts refused (ring full), summed over workers */
	uint64_t invalid;             /* requests with a bad worker, EMSE index or app id (dropped) */
	uint64_t answered_from_cache; /* the key arrived between the worker's miss and our turn */
	uint64_t merged;              /* requests attached to a fetch already in flight */
	uint64_t fetches;             /* distinct fetches started */
	uint64_t fetches_inflight;    /* now */
	uint64_t waiters_inflight;    /* now */
	uint64_t overload_inflight, overload_waiters; /* answered OVERLOAD: table full */
	uint64_t batches, batch_items, batch_submit_failures;
	uint64_t results[EMSE_FETCH__COUNT];     /* per distinct fetch */
	uint64_t completions[EMSE_FETCH__COUNT]; /* per waiting request (token) */
	uint64_t completion_ring_full;           /* deferred to a later step, never dropped */
	uint64_t completions_backlog;            /* now */
	uint64_t cache_write_failures;
	uint64_t fetch_latency_ms[EMSE_LAT_BUCKETS];
	uint64_t fetch_latency_ms_sum;
	struct emse_keyprov_stats prov;
	char prov_name[16];
	/* [keys] translate = emse */
	uint64_t imsi_map_entries;            /* now */
	uint64_t imsi_translated;             /* fetches sent by IMSI */
	uint64_t imsi_unmapped;               /* requests whose app id the table lacks: NO_KEY, no fetch */
	uint64_t imsi_map_reloads, imsi_map_reload_failures;
};
/* Control thread only (it reads what that thread writes). */
void emse_control_stats(struct emse_control *c, struct emse_control_stats *out);
/* Any thread (e.g. a DPDK telemetry callback): a consistent copy the control thread publishes
 * every 10 ms of run_once time, so at most that old. Never blocks the control thread. */
void emse_control_stats_snapshot(struct emse_control *c, struct emse_control_stats *out);

/* One walk over the stats for DPDK telemetry and Prometheus, so both use the same names (the
 * same callback shape as emse_emit_fn in emse/telemetry.h). counter: 1 monotonic, 0 gauge.
 * Names: keycache_* (label emse_id), keyreq_* and key_* (the control thread, some with label
 * status or table), key_fetch_latency_ms_{bucket,count,sum} (bucket: label le, cumulative),
 * keyprov_* (the provider: errors with label kind, items with label status, latency as above,
 * keyprov_info with label provider). */
typedef void (*emse_control_emit_fn)(void *ctx, const char *name, const char *label_key,
				     const char *label_val, uint64_t value, int counter);
void emse_control_stats_walk(const struct emse_control_stats *s, emse_control_emit_fn emit,
			     void *ctx);

#endif
