/* A worker's set-up and tear-down: its tables, pools, rings and counters on its NUMA socket. */
#include "worker_priv.h"

struct emse_worker *emse_worker_create(const struct emse_runtime *rt, unsigned id, int socket)
{
	const struct emse_config *c = rt->cfg;
	char name[64];
	struct emse_worker *w = rte_zmalloc_socket("emse_worker", sizeof(*w), 64, socket);
	if (!w)
		return NULL;
	w->id = id;
	w->rt = rt;
	w->port = c->port_id;
	w->queue = (uint16_t)id;
	w->hs_ticks = (uint64_t)c->handshake_timeout_ms * rt->hz / 1000;
	w->park_ticks = (uint64_t)c->parked_timeout_ms * rt->hz / 1000;
	w->idle_ticks = (uint64_t)c->idle_timeout_s * rt->hz;
	w->cookie_ticks = (uint64_t)c->cookie_rotate_s * rt->hz;
	w->tick_ticks = rt->hz / (1000000 / TICK_US);
	w->idle_clean_max = rt->hz / 50000; /* 20 us: longer idle polls were interrupted */

	snprintf(name, sizeof(name), "emse_mbuf_%u", id);
	/* The port DMAs into these: on its NUMA socket (unknown for virtual ports: the worker's) */
	int port_socket = rte_eth_dev_is_valid_port(c->port_id) ? rte_eth_dev_socket_id(c->port_id)
								   : -1;
	w->mp = rte_pktmbuf_pool_create(name, c->mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					port_socket >= 0 ? port_socket : socket);
	snprintf(name, sizeof(name), "emse_steer_%u", id);
	w->steer = rte_ring_create(name, 4096, socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "emse_sess_%u", id);
	if (!w->mp || !w->steer || emse_sessions_init(&w->sessions, name, c->max_sessions,
						 c->max_sessions_per_source, socket))
		goto fail;
	uint16_t per = (uint16_t)(c->fwd_count / rt->n_workers);
	if (emse_fwd_init(&w->fwd, c->has_forward ? (uint16_t)(c->fwd_first + id * per) : 0,
			  c->has_forward ? per : 0, socket) != 0)
		goto fail;
	for (unsigned i = 0; i < c->n_listeners; i++) {
		const struct emse_listener_conf *l = &c->listeners[i];
		if (l->mode == EMSE_APP_FORWARD && l->backend_mac_set) {
			bool ask;
			uint8_t mac[6];
			emse_neigh_lookup(&w->fwd, &l->backend, mac, 0, rt->hz, &ask);
			for (int k = 0; k < EMSE_NEIGH_MAX; k++)
				if (emse_addr_eq(&w->fwd.neigh[k].addr, &l->backend)) {
					memcpy(w->fwd.neigh[k].mac, l->backend_mac, 6);
					w->fwd.neigh[k].valid = true;
				}
		}
	}
	w->extras = rte_zmalloc_socket("emse_hs", sizeof(*w->extras) * c->half_open_max, 64, socket);
	w->free_extra = rte_malloc_socket("emse_hs", sizeof(uint32_t) * c->half_open_max, 64, socket);
	if (!w->extras || !w->free_extra)
		goto fail;
	for (uint32_t i = 0; i < c->half_open_max; i++)
		w->free_extra[i] = c->half_open_max - 1 - i;
	w->n_free_extra = c->half_open_max;
	/* identities: two chunks per session on average is room enough (a typical one takes one) */
	if (emse_idarena_init(&w->ids, c->max_sessions * 2 + c->resume_max * 2, socket) != 0 ||
	    emse_resume_init(&w->resume, c->resume_max, c->resume_lifetime_s, socket) != 0)
		goto fail;
	if (emse_cookie_init(&w->cookie, 0) != 0 ||
	    emse_record_ctx_init(&w->rc, c->flights_held) != 0)
		goto fail;
	WOLFSSL_CTX *ctx = emse_dtls_ctx_new(c->suites, c->psk_hint);
	if (!ctx || emse_dtls_pool_init(&w->pool, ctx, c->half_open_max, w, dtls_send) != 0)
		goto fail;
	return w;
fail:
	emse_worker_destroy(w);
	return NULL;
}

/* After the worker stopped, before the port stops: says close_notify to established sessions and
 * ends every session. The queue is this worker's alone, so the main lcore may transmit on it. */
void emse_worker_drain(struct emse_worker *w)
{
	struct emse_sessions *t = &w->sessions;
	emse_dtls_pool_bind(&w->pool);
	for (uint32_t i = 0; t->s && i < t->max; i++) {
		struct emse_session *s = &t->s[i];
		if (s->state == EMSE_S_FREE)
			continue;
		if (emse_session_established(s)) {
			/* a saved session lives on in the next process: no close_notify */
			session_close(w, s, EMSE_CLOSE_SHUTDOWN,
				      !(w->quiet_drain && s->state == EMSE_S_ESTABLISHED));
		} else {
			extra_give(w, s);
			emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1, 0);
			w->stats.closed[EMSE_CLOSE_SHUTDOWN]++;
			emse_session_release(t, s);
		}
		if (w->n_tx > EMSE_TX_MAX / 2)
			emse_worker_flush(w);
	}
	emse_worker_flush(w);
}

void emse_worker_destroy(struct emse_worker *w)
{
	if (!w)
		return;
	struct emse_sessions *t = &w->sessions;
	emse_dtls_pool_bind(&w->pool);
	for (uint32_t i = 0; t->s && i < t->max; i++) {
		struct emse_session *s = &t->s[i];
		if (s->state == EMSE_S_FREE)
			continue;
		if (s->state == EMSE_S_ESTABLISHED) {
			emse_record_wipe(&w->rc, &s->u.rec);
		} else {
			extra_give(w, s);
			emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1,
					   s->state == EMSE_S_ESTABLISHED_WOLFSSL);
		}
		emse_session_release(t, s);
	}
	rte_pktmbuf_free_bulk(w->tx, w->n_tx);
	w->n_tx = 0;
	WOLFSSL_CTX *ctx = w->pool.ctx;
	emse_dtls_pool_fini(&w->pool);
	emse_dtls_ctx_free(ctx);
	emse_cookie_wipe(&w->cookie);
	emse_record_ctx_fini(&w->rc);
	emse_fwd_fini(&w->fwd);
	emse_resume_fini(&w->resume, &w->ids);
	emse_idarena_fini(&w->ids);
	if (w->extras)
		e2m_wipe(w->extras, sizeof(*w->extras) * w->rt->cfg->half_open_max);
	rte_free(w->extras);
	rte_free(w->free_extra);
	emse_sessions_free(t);
	rte_ring_free(w->steer);
	rte_mempool_free(w->mp);
	rte_free(w);
}
