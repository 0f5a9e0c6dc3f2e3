/* Lock-free e2m_key cache, one per EMSE_Id. Workers read it with no lock (rte_hash with
 * RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF); the control thread is the only writer. Entries are
 * freed only after every registered worker reported quiescence (rte_rcu_qsbr), so a reader never
 * sees freed memory; key bytes are wiped when an entry is freed. */
#ifndef EMSE_KEYCACHE_H
#define EMSE_KEYCACHE_H

#include <stdint.h>
#include "emse/e2m.h"

struct rte_rcu_qsbr;
struct emse_keycache;

enum emse_kc_result {
	EMSE_KC_MISS = 0,
	EMSE_KC_HIT,      /* key copied out */
	EMSE_KC_NEGATIVE, /* the EMKS said 204 (or the provider has no such key), not expired yet */
};

struct emse_keycache_stats {
	uint64_t entries, negative_entries;
	uint64_t hits, misses, negative_hits, expired; /* reader side, summed over workers */
	uint64_t inserts, evictions, frees_deferred;
	/* writer side: entries returned to the pool after the grace period, still waiting for it,
	 * puts that failed (pool or table full while the grace period runs), expired entries dropped */
	uint64_t frees_reclaimed, defer_pending, put_failures, expired_dropped;
	/* entries allocated: capacity plus headroom for those waiting for their grace period */
	uint64_t pool_size;
};

/* capacity: most entries kept (evicts oldest beyond it). qsbr: shared by all caches, with every
 * worker registered as a reader (thread id = worker index). n_workers: for per-worker stats. */
struct emse_keycache *emse_keycache_create(const char *emse_id, uint32_t capacity,
					   struct rte_rcu_qsbr *qsbr, unsigned n_workers);
void emse_keycache_destroy(struct emse_keycache *kc);

/* Reader (worker `worker`), lock-free. now: unix seconds. On HIT copies the key to key[]. */
enum emse_kc_result emse_keycache_lookup(struct emse_keycache *kc, unsigned worker,
					 uint32_t key_id, const char *app_id, uint8_t app_id_len,
					 uint64_t now, uint8_t key[E2M_KEY_LEN]);

/* Writer only (control thread). expiry: unix seconds. */
int emse_keycache_put(struct emse_keycache *kc, uint32_t key_id, const char *app_id,
		      uint8_t app_id_len, const uint8_t key[E2M_KEY_LEN], uint64_t expiry);
int emse_keycache_put_negative(struct emse_keycache *kc, uint32_t key_id, const char *app_id,
			       uint8_t app_id_len, uint64_t expiry);
/* Writer only: the same answer as lookup, without copying the key or touching reader stats
 * (the control thread checks the cache before fetching a key a worker asked for). */
enum emse_kc_result emse_keycache_peek(struct emse_keycache *kc, uint32_t key_id,
				       const char *app_id, uint8_t app_id_len, uint64_t now);
/* Writer: drops expired entries, reclaims what every reader has passed. Call periodically. */
void emse_keycache_maintain(struct emse_keycache *kc, uint64_t now);

void emse_keycache_stats(const struct emse_keycache *kc, struct emse_keycache_stats *out);
const char *emse_keycache_emse_id(const struct emse_keycache *kc);

#endif
