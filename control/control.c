/* The control thread: the only writer of the key caches and the only user of the key provider.
 *
 * A worker's request goes: request ring -> (answered from the cache if the key arrived meanwhile)
 * -> merged onto the fetch already in flight for the same (EMSE, key id, app id), or a new fetch
 * -> the EMSE's pending batch -> the provider (flushed when full or batch_delay_ms old) -> result
 * -> cache written first -> then {token, status} to every waiting worker's completion ring, so a
 * worker that sees OK finds the key in the cache. Completions that do not fit a full ring wait in
 * a per-worker backlog and go out on a later step: never dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "emse/control_plane.h"
#include "emse/imsi_map.h"

#define NIL UINT32_MAX
#define DRAIN_BURST 64
#define DRAIN_MAX 1024       /* requests taken per step: keeps a step short under a flood */
#define MAINTAIN_EVERY_MS 10

/* Identity of a fetch: fixed size and zero padded for the hash. */
struct fetch_key {
	uint32_t key_id;
	uint16_t emse_idx;
	uint8_t app_id_len;
	char app_id[E2M_APP_ID_MAX];
};

struct waiter {
	uint64_t token;
	uint32_t next;
	uint8_t worker;
};

struct fetch {
	struct fetch_key k;
	char imsi[EMSE_IMSI_MAX + 1]; /* translate = emse: the UE's IMSI, else "" */
	uint64_t started_ms;
	uint32_t head, tail; /* waiters */
	uint32_t next_free;
};

/* A batch handed to the provider; its address is the batch id. */
struct obatch {
	struct obatch *prev, *next;
	uint16_t emse_idx;
	unsigned n;
	uint32_t fetch[EMSE_KEYPROV_BATCH_MAX];
};

struct pending {
	unsigned n;
	uint64_t first_ms;
	uint32_t fetch[EMSE_KEYPROV_BATCH_MAX];
};

struct backlog {
	struct emse_key_completion *q;
	uint32_t head, count, cap;
};

struct wcounters {
	uint64_t post_ring_full;
} __rte_cache_aligned;

struct emse_control {
	struct emse_control_config cfg;
	char emse_ids[EMSE_MAX_EMSE][E2M_EMSE_ID_MAX + 1];
	struct rte_rcu_qsbr *qsbr;
	struct emse_keycache *cache[EMSE_MAX_EMSE];
	struct rte_ring *req_ring;
	struct rte_ring *comp_ring[EMSE_MAX_WORKERS];
	struct wcounters *wc;
	struct backlog backlog[EMSE_MAX_WORKERS];
	struct emse_keyprov *prov;

	struct rte_hash *inflight; /* fetch_key -> fetch index */
	struct fetch *fetches;
	uint32_t fetch_free, n_fetches;
	struct waiter *waiters;
	uint32_t waiter_free, n_waiters;

	struct pending pending[EMSE_MAX_EMSE];
	struct obatch *outstanding;
	uint64_t now_ms, last_maintain_ms;

	struct emse_control_stats st; /* the control thread's own counters */

	/* A copy for other threads (DPDK telemetry runs on its own), under a sequence count: the
	 * control thread republishes it every MAINTAIN_EVERY_MS; a reader retries while it moves. */
	uint32_t snap_seq;
	struct emse_control_stats snap;

	/* translate = emse: only this thread reads or replaces the table. A reload is asked for by
	 * bumping reload_req; this thread answers by setting reload_done to it, with the outcome. */
	struct emse_imsi_map *imsi_map;
	char imsi_map_path[4096];
	uint32_t reload_req, reload_done;
	int reload_rc;
	uint64_t reload_entries;
	char reload_err[512];
};

static uint32_t ctl_seq;

const char *emse_fetch_status_name(enum emse_fetch_status s)
{
	static const char *const names[EMSE_FETCH__COUNT] = {
		[EMSE_FETCH_OK] = "ok",
		[EMSE_FETCH_NO_KEY] = "no_key",
		[EMSE_FETCH_FORBIDDEN] = "forbidden",
		[EMSE_FETCH_TIMEOUT] = "timeout",
		[EMSE_FETCH_UNAVAILABLE] = "unavailable",
		[EMSE_FETCH_ERROR] = "error",
		[EMSE_FETCH_OVERLOAD] = "overload",
	};
	return (unsigned)s < EMSE_FETCH__COUNT ? names[s] : "unknown";
}

uint64_t emse_control_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void emse_control_config_default(struct emse_control_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_workers = 1;
	cfg->cache_capacity = 65536;
	cfg->request_ring_size = 4096;
	cfg->completion_ring_size = 1024;
	cfg->max_inflight = 4096;
	cfg->max_waiters = 16384;
	cfg->batch_max = EMSE_KEYPROV_BATCH_MAX;
	cfg->batch_delay_ms = 1;
	cfg->negative_ttl_s = 30;
}

/* ---- worker side: no lock, no allocation ------------------------------------------------------ */

int emse_control_post(struct emse_control *c, const struct emse_key_request *req)
{
	if (req->worker >= c->cfg.n_workers)
		return -1;
	if (rte_ring_mp_enqueue_elem(c->req_ring, (void *)(uintptr_t)req,
				     sizeof(struct emse_key_request)) != 0) {
		struct wcounters *w = &c->wc[req->worker];
		__atomic_store_n(&w->post_ring_full, w->post_ring_full + 1, __ATOMIC_RELAXED);
		return -1;
	}
	return 0;
}

unsigned emse_control_poll(struct emse_control *c, unsigned worker,
			   struct emse_key_completion *out, unsigned n)
{
	if (worker >= c->cfg.n_workers)
		return 0;
	return rte_ring_sc_dequeue_burst_elem(c->comp_ring[worker], out, sizeof(*out), n, NULL);
}

struct emse_keycache *emse_control_cache(struct emse_control *c, unsigned emse_idx)
{
	return emse_idx < c->cfg.n_emse ? c->cache[emse_idx] : NULL;
}

/* ---- completions ------------------------------------------------------------------------------ */

static int backlog_push(struct backlog *b, const struct emse_key_completion *cp)
{
	if (b->count == b->cap) {
		uint32_t ncap = b->cap ? b->cap * 2 : 64;
		struct emse_key_completion *nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return -1;
		for (uint32_t i = 0; i < b->count; i++)
			nq[i] = b->q[(b->head + i) % b->cap];
		free(b->q);
		b->q = nq;
		b->head = 0;
		b->cap = ncap;
	}
	b->q[(b->head + b->count) % b->cap] = *cp;
	b->count++;
	return 0;
}

static void complete(struct emse_control *c, unsigned worker, uint64_t token, uint32_t status)
{
	struct emse_key_completion cp = {.token = token, .status = status};
	struct backlog *b = &c->backlog[worker];
	c->st.completions[status]++;
	/* Behind a backlog the ring would reorder: queue after it. */
	if (b->count == 0 &&
	    rte_ring_sp_enqueue_elem(c->comp_ring[worker], &cp, sizeof(cp)) == 0)
		return;
	c->st.completion_ring_full++;
	if (backlog_push(b, &cp) != 0) {
		/* Out of memory on the control thread: keep trying the ring rather than lose it. */
		while (rte_ring_sp_enqueue_elem(c->comp_ring[worker], &cp, sizeof(cp)) != 0)
			;
	}
}

static unsigned flush_backlogs(struct emse_control *c)
{
	unsigned done = 0;
	for (unsigned w = 0; w < c->cfg.n_workers; w++) {
		struct backlog *b = &c->backlog[w];
		while (b->count > 0) {
			if (rte_ring_sp_enqueue_elem(c->comp_ring[w], &b->q[b->head], sizeof(b->q[0])) != 0)
				break;
			b->head = (b->head + 1) % b->cap;
			b->count--;
			done++;
		}
	}
	return done;
}

/* ---- fetches ---------------------------------------------------------------------------------- */

static void fetch_finish(struct emse_control *c, uint32_t fi, uint32_t status)
{
	struct fetch *f = &c->fetches[fi];
	c->st.results[status]++;
	uint64_t lat = c->now_ms > f->started_ms ? c->now_ms - f->started_ms : 0;
	emse_lat_hist_add(c->st.fetch_latency_ms, lat);
	c->st.fetch_latency_ms_sum += lat;
	for (uint32_t wi = f->head; wi != NIL;) {
		struct waiter *w = &c->waiters[wi];
		uint32_t next = w->next;
		complete(c, w->worker, w->token, status);
		w->next = c->waiter_free;
		c->waiter_free = wi;
		c->n_waiters--;
		wi = next;
	}
	rte_hash_del_key(c->inflight, &f->k);
	f->head = f->tail = NIL;
	f->next_free = c->fetch_free;
	c->fetch_free = fi;
	c->n_fetches--;
}

static void on_batch_done(void *ctx, uint64_t batch_id, struct emse_keyprov_result *res, unsigned n)
{
	struct emse_control *c = ctx;
	struct obatch *b = (struct obatch *)(uintptr_t)batch_id;
	uint64_t now_s = c->now_ms / 1000;
	for (unsigned i = 0; i < b->n; i++) {
		struct fetch *f = &c->fetches[b->fetch[i]];
		struct emse_keycache *kc = c->cache[f->k.emse_idx];
		uint32_t status = i < n ? res[i].status : EMSE_FETCH_ERROR;
		if (status >= EMSE_FETCH__COUNT)
			status = EMSE_FETCH_ERROR;
		/* A key already past its expiry must not start sessions: as if there were none. */
		if (status == EMSE_FETCH_OK && res[i].expiry <= now_s)
			status = EMSE_FETCH_NO_KEY;
		if (status == EMSE_FETCH_OK) {
			if (emse_keycache_put(kc, f->k.key_id, f->k.app_id, f->k.app_id_len, res[i].key,
					      res[i].expiry) != 0) {
				c->st.cache_write_failures++;
				status = EMSE_FETCH_ERROR;
			}
		} else if (status == EMSE_FETCH_NO_KEY || status == EMSE_FETCH_FORBIDDEN) {
			/* Cached briefly so a flood of unknown identities stays here. */
			if (emse_keycache_put_negative(kc, f->k.key_id, f->k.app_id, f->k.app_id_len,
						       now_s + c->cfg.negative_ttl_s) != 0)
				c->st.cache_write_failures++;
		}
		if (i < n)
			OPENSSL_cleanse(res[i].key, sizeof(res[i].key));
		fetch_finish(c, b->fetch[i], status);
	}
	if (b->prev)
		b->prev->next = b->next;
	else
		c->outstanding = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b);
}

static void submit_pending(struct emse_control *c, unsigned e)
{
	struct pending *p = &c->pending[e];
	if (p->n == 0)
		return;
	struct obatch *b = calloc(1, sizeof(*b));
	static struct emse_keyprov_item items[EMSE_KEYPROV_BATCH_MAX];
	unsigned n = p->n;
	p->n = 0;
	if (b) {
		b->emse_idx = (uint16_t)e;
		b->n = n;
		memcpy(b->fetch, p->fetch, n * sizeof(p->fetch[0]));
		for (unsigned i = 0; i < n; i++) {
			const struct fetch_key *k = &c->fetches[p->fetch[i]].k;
			memset(&items[i], 0, sizeof(items[i]));
			memcpy(items[i].imsi, c->fetches[p->fetch[i]].imsi, sizeof(items[i].imsi));
			items[i].key_id = k->key_id;
			items[i].app_id_len = k->app_id_len;
			memcpy(items[i].app_id, k->app_id, k->app_id_len);
		}
		/* Link before submit: the provider never calls done() from submit, but destroy needs it. */
		b->next = c->outstanding;
		if (b->next)
			b->next->prev = b;
		c->outstanding = b;
		if (c->prov->ops->submit(c->prov, (uint64_t)(uintptr_t)b, c->emse_ids[e], items, n,
					 c->now_ms) == 0) {
			c->st.batches++;
			c->st.batch_items += n;
			return;
		}
		c->outstanding = b->next;
		if (b->next)
			b->next->prev = NULL;
		free(b);
	}
	c->st.batch_submit_failures++;
	for (unsigned i = 0; i < n; i++)
		fetch_finish(c, p->fetch[i], EMSE_FETCH_ERROR);
}

static void handle_request(struct emse_control *c, const struct emse_key_request *r)
{
	if (r->worker >= c->cfg.n_workers || r->emse_idx >= c->cfg.n_emse || r->app_id_len == 0 ||
	    r->app_id_len > E2M_APP_ID_MAX) {
		/* No valid worker to answer, or a request no key can satisfy. */
		c->st.invalid++;
		if (r->worker < c->cfg.n_workers)
			complete(c, r->worker, r->token, EMSE_FETCH_ERROR);
		return;
	}
	struct emse_keycache *kc = c->cache[r->emse_idx];
	switch (emse_keycache_peek(kc, r->key_id, r->app_id, r->app_id_len, c->now_ms / 1000)) {
	case EMSE_KC_HIT:
		c->st.answered_from_cache++;
		complete(c, r->worker, r->token, EMSE_FETCH_OK);
		return;
	case EMSE_KC_NEGATIVE:
		c->st.answered_from_cache++;
		complete(c, r->worker, r->token, EMSE_FETCH_NO_KEY);
		return;
	case EMSE_KC_MISS:
		break;
	}
	if (c->n_waiters >= c->cfg.max_waiters) {
		c->st.overload_waiters++;
		complete(c, r->worker, r->token, EMSE_FETCH_OVERLOAD);
		return;
	}
	const char *imsi = NULL;
	if (c->imsi_map) {
		imsi = emse_imsi_map_lookup(c->imsi_map, r->app_id, r->app_id_len);
		if (!imsi) {
			/* Unknown to our own table: an unknown UE, and nothing to ask the EMKS. */
			c->st.imsi_unmapped++;
			complete(c, r->worker, r->token, EMSE_FETCH_NO_KEY);
			return;
		}
	}
	struct fetch_key k;
	memset(&k, 0, sizeof(k));
	k.key_id = r->key_id;
	k.emse_idx = r->emse_idx;
	k.app_id_len = r->app_id_len;
	memcpy(k.app_id, r->app_id, r->app_id_len);
	void *data;
	uint32_t fi;
	if (rte_hash_lookup_data(c->inflight, &k, &data) >= 0) {
		fi = (uint32_t)(uintptr_t)data;
		c->st.merged++;
	} else {
		if (c->n_fetches >= c->cfg.max_inflight || c->fetch_free == NIL) {
			c->st.overload_inflight++;
			complete(c, r->worker, r->token, EMSE_FETCH_OVERLOAD);
			return;
		}
		fi = c->fetch_free;
		if (rte_hash_add_key_data(c->inflight, &k, (void *)(uintptr_t)fi) != 0) {
			c->st.overload_inflight++;
			complete(c, r->worker, r->token, EMSE_FETCH_OVERLOAD);
			return;
		}
		struct fetch *f = &c->fetches[fi];
		c->fetch_free = f->next_free;
		c->n_fetches++;
		f->k = k;
		snprintf(f->imsi, sizeof(f->imsi), "%s", imsi ? imsi : "");
		if (imsi)
			c->st.imsi_translated++;
		f->started_ms = c->now_ms;
		f->head = f->tail = NIL;
		c->st.fetches++;
		struct pending *p = &c->pending[r->emse_idx];
		if (p->n == 0)
			p->first_ms = c->now_ms;
		p->fetch[p->n++] = fi;
		if (p->n >= c->cfg.batch_max)
			submit_pending(c, r->emse_idx);
		/* submit_pending may have finished the fetch (submit failure): answer this one alone. */
		if (c->fetches[fi].head == NIL && rte_hash_lookup(c->inflight, &k) < 0) {
			complete(c, r->worker, r->token, EMSE_FETCH_ERROR);
			return;
		}
	}
	uint32_t wi = c->waiter_free;
	struct waiter *w = &c->waiters[wi];
	c->waiter_free = w->next;
	c->n_waiters++;
	w->token = r->token;
	w->worker = r->worker;
	w->next = NIL;
	struct fetch *f = &c->fetches[fi];
	if (f->tail == NIL)
		f->head = wi;
	else
		c->waiters[f->tail].next = wi;
	f->tail = wi;
}

static void publish_snapshot(struct emse_control *c)
{
	static struct emse_control_stats tmp; /* the control thread is the only caller */
	emse_control_stats(c, &tmp);
	uint32_t s = c->snap_seq;
	__atomic_store_n(&c->snap_seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&c->snap, &tmp, sizeof(tmp));
	__atomic_store_n(&c->snap_seq, s + 2, __ATOMIC_RELEASE);
}

void emse_control_stats_snapshot(struct emse_control *c, struct emse_control_stats *out)
{
	for (;;) {
		uint32_t s1 = __atomic_load_n(&c->snap_seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {
			rte_pause();
			continue;
		}
		memcpy(out, &c->snap, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&c->snap_seq, __ATOMIC_RELAXED) == s1)
			return;
	}
}

/* Runs on the control thread, the table's only user: the new table replaces the old one between
 * two requests, so no lookup ever sees a table being freed. */
static unsigned imsi_map_maybe_reload(struct emse_control *c)
{
	uint32_t req = __atomic_load_n(&c->reload_req, __ATOMIC_ACQUIRE);
	if (req == c->reload_done)
		return 0;
	char err[sizeof(c->reload_err)] = "";
	struct emse_imsi_map *m = emse_imsi_map_load(c->imsi_map_path, err, sizeof(err));
	if (m) {
		emse_imsi_map_free(c->imsi_map);
		c->imsi_map = m;
		c->st.imsi_map_reloads++;
		c->reload_rc = 0;
		c->reload_entries = emse_imsi_map_size(m);
		fprintf(stderr, "emse: [keys] imsi_map %s reloaded: %zu identities\n",
			c->imsi_map_path, emse_imsi_map_size(m));
	} else {
		c->st.imsi_map_reload_failures++;
		c->reload_rc = -1;
		fprintf(stderr, "emse: [keys] imsi_map reload failed, the old table stays: %s\n", err);
	}
	memcpy(c->reload_err, err, sizeof(err));
	publish_snapshot(c);
	__atomic_store_n(&c->reload_done, req, __ATOMIC_RELEASE);
	return 1;
}

int emse_control_imsi_map_reload(struct emse_control *c, unsigned timeout_ms, uint64_t *entries,
				 char *err, size_t err_len)
{
	if (!c->imsi_map_path[0]) {
		snprintf(err, err_len, "no [keys] imsi_map (translate = emks)");
		return -3;
	}
	uint32_t req = __atomic_add_fetch(&c->reload_req, 1, __ATOMIC_ACQ_REL);
	for (unsigned waited = 0; waited < timeout_ms; waited++) {
		/* Wrap-safe: done has reached req once (int32_t)(done - req) >= 0. */
		uint32_t done = __atomic_load_n(&c->reload_done, __ATOMIC_ACQUIRE);
		if ((int32_t)(done - req) >= 0) {
			*entries = c->reload_entries;
			snprintf(err, err_len, "%s", c->reload_err);
			return c->reload_rc;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	snprintf(err, err_len, "the control thread did not answer within %u ms", timeout_ms);
	return -2;
}

unsigned emse_control_run_once(struct emse_control *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	unsigned work = flush_backlogs(c);

	struct emse_key_request reqs[DRAIN_BURST];
	for (unsigned taken = 0; taken < DRAIN_MAX;) {
		unsigned n = rte_ring_sc_dequeue_burst_elem(c->req_ring, reqs, sizeof(reqs[0]),
							    DRAIN_BURST, NULL);
		if (n == 0)
			break;
		c->st.posted += n;
		for (unsigned i = 0; i < n; i++)
			handle_request(c, &reqs[i]);
		taken += n;
		work += n;
	}

	for (unsigned e = 0; e < c->cfg.n_emse; e++) {
		struct pending *p = &c->pending[e];
		if (p->n > 0 && now_ms >= p->first_ms + c->cfg.batch_delay_ms) {
			submit_pending(c, e);
			work++;
		}
	}

	work += c->prov->ops->poll(c->prov, now_ms);
	work += imsi_map_maybe_reload(c);

	if (now_ms >= c->last_maintain_ms + MAINTAIN_EVERY_MS || now_ms < c->last_maintain_ms) {
		c->last_maintain_ms = now_ms;
		for (unsigned e = 0; e < c->cfg.n_emse; e++)
			emse_keycache_maintain(c->cache[e], now_ms / 1000);
		publish_snapshot(c);
	}
	return work;
}

void emse_control_run(struct emse_control *c, volatile bool *stop)
{
	while (!*stop) {
		if (emse_control_run_once(c, emse_control_now_ms()) == 0) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static void fail(char *err, size_t len, const char *msg)
{
	if (err && len)
		snprintf(err, len, "%s", msg);
}

struct emse_control *emse_control_create(const struct emse_control_config *cfg, char *err,
					  size_t err_len)
{
	struct emse_keyprov *prov = cfg->prov;
	struct emse_control *c = NULL;
	if (!prov) {
		fail(err, err_len, "no key provider");
		return NULL;
	}
	if (cfg->n_workers == 0 || cfg->n_workers > EMSE_MAX_WORKERS || cfg->n_emse == 0 ||
	    cfg->n_emse > EMSE_MAX_EMSE || cfg->batch_max == 0 ||
	    cfg->batch_max > EMSE_KEYPROV_BATCH_MAX || cfg->max_inflight == 0 ||
	    cfg->max_waiters == 0) {
		fail(err, err_len, "bad control plane configuration");
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fail(err, err_len, "out of memory");
		goto fail;
	}
	c->cfg = *cfg;
	c->prov = prov;
	c->imsi_map = cfg->imsi_map;
	c->cfg.imsi_map = NULL;
	if (cfg->imsi_map_path)
		snprintf(c->imsi_map_path, sizeof(c->imsi_map_path), "%s", cfg->imsi_map_path);
	c->cfg.imsi_map_path = NULL;
	prov->done = on_batch_done;
	prov->done_ctx = c;
	unsigned seq = __atomic_fetch_add(&ctl_seq, 1, __ATOMIC_RELAXED);
	char name[RTE_RING_NAMESIZE];

	size_t qsz = rte_rcu_qsbr_get_memsize(cfg->n_workers);
	c->qsbr = rte_zmalloc("emse_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (!c->qsbr || rte_rcu_qsbr_init(c->qsbr, cfg->n_workers) != 0) {
		fail(err, err_len, "qsbr");
		goto fail;
	}
	for (unsigned e = 0; e < cfg->n_emse; e++) {
		const char *id = cfg->emse_ids[e];
		if (!id || !*id || strlen(id) > E2M_EMSE_ID_MAX) {
			fail(err, err_len, "bad EMSE_Id");
			goto fail;
		}
		snprintf(c->emse_ids[e], sizeof(c->emse_ids[e]), "%s", id);
		c->cfg.emse_ids[e] = c->emse_ids[e];
		c->cache[e] = emse_keycache_create(id, cfg->cache_capacity, c->qsbr, cfg->n_workers);
		if (!c->cache[e]) {
			fail(err, err_len, "key cache");
			goto fail;
		}
	}
	snprintf(name, sizeof(name), "emse_req_%u", seq);
	c->req_ring = rte_ring_create_elem(name, sizeof(struct emse_key_request),
					   cfg->request_ring_size, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!c->req_ring) {
		fail(err, err_len, "request ring (size must be a power of two)");
		goto fail;
	}
	for (unsigned w = 0; w < cfg->n_workers; w++) {
		snprintf(name, sizeof(name), "emse_cmp_%u_%u", seq, w);
		c->comp_ring[w] = rte_ring_create_elem(name, sizeof(struct emse_key_completion),
						       cfg->completion_ring_size, SOCKET_ID_ANY,
						       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!c->comp_ring[w]) {
			fail(err, err_len, "completion ring (size must be a power of two)");
			goto fail;
		}
	}
	c->wc = aligned_alloc(RTE_CACHE_LINE_SIZE, cfg->n_workers * sizeof(*c->wc));
	c->fetches = calloc(cfg->max_inflight, sizeof(*c->fetches));
	c->waiters = calloc(cfg->max_waiters, sizeof(*c->waiters));
	if (!c->wc || !c->fetches || !c->waiters) {
		fail(err, err_len, "out of memory");
		goto fail;
	}
	memset(c->wc, 0, cfg->n_workers * sizeof(*c->wc));
	for (uint32_t i = 0; i < cfg->max_inflight; i++)
		c->fetches[i].next_free = i + 1 < cfg->max_inflight ? i + 1 : NIL;
	for (uint32_t i = 0; i < cfg->max_waiters; i++)
		c->waiters[i].next = i + 1 < cfg->max_waiters ? i + 1 : NIL;
	snprintf(name, sizeof(name), "emse_inf_%u", seq);
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = cfg->max_inflight < 8 ? 8 : cfg->max_inflight,
		.key_len = sizeof(struct fetch_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE, /* control thread only */
	};
	c->inflight = rte_hash_create(&hp);
	if (!c->inflight) {
		fail(err, err_len, "in-flight table");
		goto fail;
	}
	if (prov->ops->preload) {
		for (unsigned e = 0; e < cfg->n_emse; e++)
			if (prov->ops->preload(prov, c->emse_ids[e], c->cache[e]) != 0) {
				fail(err, err_len, "preloading the key cache failed");
				goto fail;
			}
	}
	publish_snapshot(c);
	return c;
fail:
	if (c) {
		emse_control_destroy(c);
	} else {
		prov->ops->destroy(prov);
		emse_imsi_map_free(cfg->imsi_map);
	}
	return NULL;
}

void emse_control_destroy(struct emse_control *c)
{
	if (!c)
		return;
	if (c->prov)
		c->prov->ops->destroy(c->prov);
	while (c->outstanding) {
		struct obatch *b = c->outstanding;
		c->outstanding = b->next;
		free(b);
	}
	rte_hash_free(c->inflight);
	for (unsigned w = 0; w < EMSE_MAX_WORKERS; w++) {
		rte_ring_free(c->comp_ring[w]);
		free(c->backlog[w].q);
	}
	rte_ring_free(c->req_ring);
	for (unsigned e = 0; e < EMSE_MAX_EMSE; e++)
		emse_keycache_destroy(c->cache[e]);
	rte_free(c->qsbr);
	emse_imsi_map_free(c->imsi_map);
	free(c->wc);
	free(c->fetches);
	free(c->waiters);
	free(c);
}

struct rte_rcu_qsbr *emse_control_qsbr(struct emse_control *c)
{
	return c->qsbr;
}

int emse_control_worker_register(struct emse_control *c, unsigned worker)
{
	if (worker >= c->cfg.n_workers || rte_rcu_qsbr_thread_register(c->qsbr, worker) != 0)
		return -1;
	rte_rcu_qsbr_thread_online(c->qsbr, worker);
	return 0;
}

void emse_control_worker_unregister(struct emse_control *c, unsigned worker)
{
	if (worker >= c->cfg.n_workers)
		return;
	rte_rcu_qsbr_thread_offline(c->qsbr, worker);
	rte_rcu_qsbr_thread_unregister(c->qsbr, worker);
}

unsigned emse_control_n_emse(const struct emse_control *c)
{
	return c->cfg.n_emse;
}

void emse_control_stats(struct emse_control *c, struct emse_control_stats *out)
{
	*out = c->st;
	out->n_emse = c->cfg.n_emse;
	out->n_workers = c->cfg.n_workers;
	for (unsigned e = 0; e < c->cfg.n_emse; e++) {
		snprintf(out->emse[e].emse_id, sizeof(out->emse[e].emse_id), "%s", c->emse_ids[e]);
		emse_keycache_stats(c->cache[e], &out->emse[e].cache);
	}
	out->post_ring_full = 0;
	for (unsigned w = 0; w < c->cfg.n_workers; w++) {
		out->post_ring_full += __atomic_load_n(&c->wc[w].post_ring_full, __ATOMIC_RELAXED);
		out->completions_backlog += c->backlog[w].count;
	}
	out->fetches_inflight = c->n_fetches;
	out->waiters_inflight = c->n_waiters;
	memset(&out->prov, 0, sizeof(out->prov));
	if (c->prov->ops->stats)
		c->prov->ops->stats(c->prov, &out->prov);
	snprintf(out->prov_name, sizeof(out->prov_name), "%s", c->prov->ops->name);
	out->imsi_map_entries = emse_imsi_map_size(c->imsi_map);
}
