/* The per-EMSE key cache: an rte_hash in lock-free reader mode mapping (key id, app id) to an
 * entry of a preallocated pool. Only the control thread writes; workers read with no lock.
 *
 * Why the pool and the defer FIFO: a reader may hold an entry pointer (and, inside rte_hash, a key
 * slot index) from the moment it looked it up until it next reports quiescence. So a removed entry
 * and its hash key slot go to a FIFO tagged with an rte_rcu_qsbr token, and come back to the pool
 * only once rte_rcu_qsbr_check says every registered worker has passed that token. Entries are
 * immutable once published: an update publishes a new entry and retires the old one. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_rcu_qsbr.h>

#include "emse/keycache.h"

#define KC_NIL UINT32_MAX
/* Entries checked for expiry per maintain call: keeps one control-loop step short. */
#define KC_SWEEP_STEP 1024

/* The hash key: fixed size, zero padded, so equal identities hash and compare equal. */
struct kc_key {
	uint32_t key_id;
	uint8_t app_id_len;
	char app_id[E2M_APP_ID_MAX];
};

struct kc_entry {
	/* read by workers; written once before the entry is published */
	uint8_t key[E2M_KEY_LEN];
	uint64_t expiry;
	uint8_t negative;
	/* writer only */
	uint8_t live;     /* in the hash (not retired, not free) */
	uint32_t prev, next; /* insertion order list of live entries (oldest first) */
	struct kc_key hkey;
};

struct kc_deferred {
	uint64_t token;
	uint32_t entry;
	int32_t key_pos; /* hash key slot to free with the entry, or -1 (the key stayed, value replaced) */
};

struct kc_wstats {
	uint64_t hits, misses, negative_hits, expired;
} __rte_cache_aligned;

struct emse_keycache {
	char emse_id[E2M_EMSE_ID_MAX + 1];
	struct rte_hash *h;
	struct rte_rcu_qsbr *qsbr;
	unsigned n_workers;
	struct kc_wstats *wstats;

	uint32_t capacity, pool_size;
	struct kc_entry *pool;
	uint32_t *free_stack;
	uint32_t n_free;
	uint32_t oldest, newest; /* live list */
	uint32_t n_live, n_negative;
	uint32_t sweep_cursor;

	struct kc_deferred *dq; /* FIFO of pool_size slots: at most every entry is retired at once */
	uint32_t dq_head, dq_count;

	uint64_t inserts, evictions, frees_deferred, frees_reclaimed, put_failures, expired_dropped;
};

static uint32_t kc_seq;

static void kc_make_key(struct kc_key *k, uint32_t key_id, const char *app_id, uint8_t len)
{
	memset(k, 0, sizeof(*k));
	k->key_id = key_id;
	k->app_id_len = len;
	memcpy(k->app_id, app_id, len);
}

struct emse_keycache *emse_keycache_create(const char *emse_id, uint32_t capacity,
					   struct rte_rcu_qsbr *qsbr, unsigned n_workers)
{
	if (!emse_id || strlen(emse_id) == 0 || strlen(emse_id) > E2M_EMSE_ID_MAX || capacity == 0 ||
	    capacity > (1u << 24) || n_workers == 0)
		return NULL;
	struct emse_keycache *kc = calloc(1, sizeof(*kc));
	if (!kc)
		return NULL;
	snprintf(kc->emse_id, sizeof(kc->emse_id), "%s", emse_id);
	kc->qsbr = qsbr;
	kc->n_workers = n_workers;
	kc->capacity = capacity;
	/* Headroom for entries retired but still inside their grace period: a put fails only when
	 * more than this many entries were retired while some worker did not pass quiescence. */
	kc->pool_size = capacity + (capacity / 2 > 1024 ? capacity / 2 : 1024);
	kc->pool = calloc(kc->pool_size, sizeof(*kc->pool));
	kc->free_stack = calloc(kc->pool_size, sizeof(*kc->free_stack));
	kc->dq = calloc(kc->pool_size, sizeof(*kc->dq));
	kc->wstats = aligned_alloc(RTE_CACHE_LINE_SIZE,
				   RTE_ALIGN_CEIL(n_workers * sizeof(struct kc_wstats), RTE_CACHE_LINE_SIZE));
	if (!kc->pool || !kc->free_stack || !kc->dq || !kc->wstats)
		goto fail;
	memset(kc->wstats, 0, n_workers * sizeof(struct kc_wstats));
	for (uint32_t i = 0; i < kc->pool_size; i++)
		kc->free_stack[i] = kc->pool_size - 1 - i;
	kc->n_free = kc->pool_size;
	kc->oldest = kc->newest = KC_NIL;

	char name[RTE_HASH_NAMESIZE];
	snprintf(name, sizeof(name), "emse_kc_%u", __atomic_fetch_add(&kc_seq, 1, __ATOMIC_RELAXED));
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = kc->pool_size,
		.key_len = sizeof(struct kc_key),
		.hash_func = rte_jhash,
		.hash_func_init_val = 0,
		.socket_id = SOCKET_ID_ANY,
		/* LF: readers never take a lock; EXT_TABLE: an insert fails only when the table is
		 * really full, not on a cuckoo path failure. No MULTI_WRITER: one writer. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	kc->h = rte_hash_create(&hp);
	if (!kc->h)
		goto fail;
	return kc;
fail:
	free(kc->pool);
	free(kc->free_stack);
	free(kc->dq);
	free(kc->wstats);
	free(kc);
	return NULL;
}

void emse_keycache_destroy(struct emse_keycache *kc)
{
	if (!kc)
		return;
	/* The caller guarantees no worker reads any more; the whole pool is wiped. */
	rte_hash_free(kc->h);
	OPENSSL_cleanse(kc->pool, (size_t)kc->pool_size * sizeof(*kc->pool));
	free(kc->pool);
	free(kc->free_stack);
	free(kc->dq);
	free(kc->wstats);
	free(kc);
}

enum emse_kc_result emse_keycache_lookup(struct emse_keycache *kc, unsigned worker,
					 uint32_t key_id, const char *app_id, uint8_t app_id_len,
					 uint64_t now, uint8_t key[E2M_KEY_LEN])
{
	struct kc_wstats *ws = worker < kc->n_workers ? &kc->wstats[worker] : NULL;
	enum emse_kc_result r = EMSE_KC_MISS;
	if (app_id_len == 0 || app_id_len > E2M_APP_ID_MAX)
		goto out;
	struct kc_key k;
	kc_make_key(&k, key_id, app_id, app_id_len);
	void *data;
	if (rte_hash_lookup_data(kc->h, &k, &data) < 0)
		goto out;
	const struct kc_entry *e = data;
	if (e->expiry <= now) {
		if (ws)
			__atomic_store_n(&ws->expired, ws->expired + 1, __ATOMIC_RELAXED);
		goto out;
	}
	if (e->negative) {
		r = EMSE_KC_NEGATIVE;
	} else {
		memcpy(key, e->key, E2M_KEY_LEN);
		r = EMSE_KC_HIT;
	}
out:
	/* Single writer per counter: a relaxed store, no locked instruction. */
	if (ws) {
		if (r == EMSE_KC_HIT)
			__atomic_store_n(&ws->hits, ws->hits + 1, __ATOMIC_RELAXED);
		else if (r == EMSE_KC_NEGATIVE)
			__atomic_store_n(&ws->negative_hits, ws->negative_hits + 1, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&ws->misses, ws->misses + 1, __ATOMIC_RELAXED);
	}
	return r;
}

enum emse_kc_result emse_keycache_peek(struct emse_keycache *kc, uint32_t key_id,
				       const char *app_id, uint8_t app_id_len, uint64_t now)
{
	if (app_id_len == 0 || app_id_len > E2M_APP_ID_MAX)
		return EMSE_KC_MISS;
	struct kc_key k;
	kc_make_key(&k, key_id, app_id, app_id_len);
	void *data;
	if (rte_hash_lookup_data(kc->h, &k, &data) < 0)
		return EMSE_KC_MISS;
	const struct kc_entry *e = data;
	if (e->expiry <= now)
		return EMSE_KC_MISS;
	return e->negative ? EMSE_KC_NEGATIVE : EMSE_KC_HIT;
}

/* ---- writer side ------------------------------------------------------------------------------ */

static void list_unlink(struct emse_keycache *kc, uint32_t i)
{
	struct kc_entry *e = &kc->pool[i];
	if (e->prev != KC_NIL)
		kc->pool[e->prev].next = e->next;
	else
		kc->oldest = e->next;
	if (e->next != KC_NIL)
		kc->pool[e->next].prev = e->prev;
	else
		kc->newest = e->prev;
	e->prev = e->next = KC_NIL;
}

static void list_append(struct emse_keycache *kc, uint32_t i)
{
	struct kc_entry *e = &kc->pool[i];
	e->prev = kc->newest;
	e->next = KC_NIL;
	if (kc->newest != KC_NIL)
		kc->pool[kc->newest].next = i;
	else
		kc->oldest = i;
	kc->newest = i;
}

static void reclaim(struct emse_keycache *kc)
{
	while (kc->dq_count > 0) {
		struct kc_deferred *d = &kc->dq[kc->dq_head];
		if (kc->qsbr && rte_rcu_qsbr_check(kc->qsbr, d->token, false) != 1)
			break; /* FIFO: later tokens cannot be done before this one */
		if (d->key_pos >= 0)
			rte_hash_free_key_with_position(kc->h, d->key_pos);
		OPENSSL_cleanse(&kc->pool[d->entry], sizeof(kc->pool[d->entry]));
		kc->free_stack[kc->n_free++] = d->entry;
		kc->dq_head = (kc->dq_head + 1) % kc->pool_size;
		kc->dq_count--;
		kc->frees_reclaimed++;
	}
}

/* Retires a live entry that is already out of the hash (or replaced in it). */
static void retire(struct emse_keycache *kc, uint32_t i, int32_t key_pos)
{
	struct kc_entry *e = &kc->pool[i];
	list_unlink(kc, i);
	e->live = 0;
	kc->n_live--;
	if (e->negative)
		kc->n_negative--;
	uint32_t tail = (kc->dq_head + kc->dq_count) % kc->pool_size;
	kc->dq[tail] = (struct kc_deferred){
		.token = kc->qsbr ? rte_rcu_qsbr_start(kc->qsbr) : 0,
		.entry = i,
		.key_pos = key_pos,
	};
	kc->dq_count++;
	kc->frees_deferred++;
}

/* Removes live entry i from the hash and retires it. */
static void remove_entry(struct emse_keycache *kc, uint32_t i)
{
	int32_t pos = rte_hash_del_key(kc->h, &kc->pool[i].hkey);
	retire(kc, i, pos >= 0 ? pos : -1);
}

static int put_entry(struct emse_keycache *kc, uint32_t key_id, const char *app_id,
		     uint8_t app_id_len, const uint8_t *key, uint64_t expiry)
{
	if (!app_id || app_id_len == 0 || app_id_len > E2M_APP_ID_MAX) {
		kc->put_failures++;
		return -1;
	}
	struct kc_key k;
	kc_make_key(&k, key_id, app_id, app_id_len);
	void *data;
	uint32_t old = KC_NIL;
	if (rte_hash_lookup_data(kc->h, &k, &data) >= 0)
		old = (uint32_t)((struct kc_entry *)data - kc->pool);

	if (kc->n_free == 0)
		reclaim(kc);
	if (kc->n_free == 0) {
		kc->put_failures++; /* before evicting: a failed put must not cost a live entry */
		return -1;
	}
	/* A replacement does not grow the table; a new key may push the oldest out. */
	if (old == KC_NIL && kc->n_live >= kc->capacity && kc->oldest != KC_NIL) {
		remove_entry(kc, kc->oldest);
		kc->evictions++;
	}
	uint32_t i = kc->free_stack[--kc->n_free];
	struct kc_entry *e = &kc->pool[i];
	memset(e, 0, sizeof(*e));
	if (key)
		memcpy(e->key, key, E2M_KEY_LEN);
	e->expiry = expiry;
	e->negative = key == NULL;
	e->hkey = k;
	/* rte_hash publishes the data pointer with release order, after the stores above. */
	if (rte_hash_add_key_data(kc->h, &k, e) < 0) {
		OPENSSL_cleanse(e, sizeof(*e));
		kc->free_stack[kc->n_free++] = i;
		kc->put_failures++;
		return -1;
	}
	if (old != KC_NIL)
		retire(kc, old, -1);
	e->live = 1;
	kc->n_live++;
	if (e->negative)
		kc->n_negative++;
	list_append(kc, i);
	kc->inserts++;
	return 0;
}

int emse_keycache_put(struct emse_keycache *kc, uint32_t key_id, const char *app_id,
		      uint8_t app_id_len, const uint8_t key[E2M_KEY_LEN], uint64_t expiry)
{
	if (!key) {
		kc->put_failures++;
		return -1;
	}
	return put_entry(kc, key_id, app_id, app_id_len, key, expiry);
}

int emse_keycache_put_negative(struct emse_keycache *kc, uint32_t key_id, const char *app_id,
			       uint8_t app_id_len, uint64_t expiry)
{
	return put_entry(kc, key_id, app_id, app_id_len, NULL, expiry);
}

void emse_keycache_maintain(struct emse_keycache *kc, uint64_t now)
{
	for (uint32_t n = 0; n < KC_SWEEP_STEP && n < kc->pool_size; n++) {
		uint32_t i = kc->sweep_cursor;
		kc->sweep_cursor = (kc->sweep_cursor + 1) % kc->pool_size;
		struct kc_entry *e = &kc->pool[i];
		if (e->live && e->expiry <= now) {
			remove_entry(kc, i);
			kc->expired_dropped++;
		}
	}
	reclaim(kc);
}

void emse_keycache_stats(const struct emse_keycache *kc, struct emse_keycache_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->entries = kc->n_live;
	out->negative_entries = kc->n_negative;
	for (unsigned w = 0; w < kc->n_workers; w++) {
		out->hits += __atomic_load_n(&kc->wstats[w].hits, __ATOMIC_RELAXED);
		out->misses += __atomic_load_n(&kc->wstats[w].misses, __ATOMIC_RELAXED);
		out->negative_hits += __atomic_load_n(&kc->wstats[w].negative_hits, __ATOMIC_RELAXED);
		out->expired += __atomic_load_n(&kc->wstats[w].expired, __ATOMIC_RELAXED);
	}
	out->inserts = kc->inserts;
	out->evictions = kc->evictions;
	out->frees_deferred = kc->frees_deferred;
	out->frees_reclaimed = kc->frees_reclaimed;
	out->defer_pending = kc->dq_count;
	out->put_failures = kc->put_failures;
	out->expired_dropped = kc->expired_dropped;
	out->pool_size = kc->pool_size;
}

const char *emse_keycache_emse_id(const struct emse_keycache *kc)
{
	return kc->emse_id;
}
