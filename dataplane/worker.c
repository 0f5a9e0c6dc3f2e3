/* The worker's loop, read top to bottom: receive a burst, classify each frame (L2-L4), steer it to
 * its owning worker, then by session state: stateless cookie exchange, handshake, parked waiting
 * for a key, established echo. Then key completions, timers, transmit, quiescent state.
 * This file is the dispatch and the loop; what each state does has a file of its own: worker_hs.c
 * (cookie exchange, both handshake engines, parking for the key), worker_records.c (established
 * sessions, connection ids), worker_apps.c (echo and forward), worker_sessions.c (a session's
 * end), worker_timers.c, worker_tx.c and worker_setup.c; worker_priv.h holds what they share. */
#include "worker_priv.h"

unsigned emse_flow_owner(const struct emse_flow *f, unsigned n_workers)
{
	if (n_workers <= 1)
		return 0;
	uint32_t h = rte_jhash(f->peer.a, 16, ((uint32_t)f->peer_port << 16) | f->local_port);
	return h % n_workers;
}

static int find_listener(const struct emse_config *c, const struct emse_flow *f)
{
	for (unsigned i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].port == f->local_port &&
		    emse_addr_eq(&c->listeners[i].addr, &f->local))
			return (int)i;
	return -1;
}

static bool is_epoch0_client_hello(const uint8_t *d, size_t len)
{
	struct dtls_record rec;
	size_t used;
	return dtls_record_parse(d, len, &rec, &used) == DTLS_PEEK_OK &&
	       rec.type == DTLS_CT_HANDSHAKE && rec.epoch == 0 && rec.len > 0 &&
	       rec.frag[0] == DTLS_HS_CLIENT_HELLO;
}

/* m trimmed to the UDP payload. Consumes m. udp: the UDP header if its checksum is still to be
 * verified; every path verifies it except a compact session's records, which authenticate
 * themselves (emse_net_classify_defer says why). */
static void on_datagram(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
			unsigned li, const uint8_t *udp)
{
	const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_data_len(m);
	struct emse_session_key k;
	emse_session_key_of(flow, (uint8_t)li, &k);
	struct emse_session *s = emse_session_find(&w->sessions, &k);

	if (s && s->state == EMSE_S_ESTABLISHED && echo_in_place(w, s, m))
		return; /* application data only: never a ClientHello */
	/* a new ClientHello on an established flow starts a handshake in its place */
	bool hello = s && emse_session_established(s) && is_epoch0_client_hello(data, len);
	if (csum_bad(w, flow, (!s || s->state != EMSE_S_ESTABLISHED || hello) ? udp : NULL)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (!s) {
		new_handshake(w, m, flow, li, data, len, NULL);
		return;
	}
	const uint8_t *idp;
	uint16_t idl;
	switch (s->state) {
	case EMSE_S_HANDSHAKE:
		if (!s->u.hs.have_key && dtls_peek_psk_identity(data, len, &idp, &idl) == DTLS_PEEK_OK) {
			on_identity(w, s, m, data, len, idp, idl);
			return;
		}
		feed_handshake(w, s, data, len);
		break;
	case EMSE_S_PARKED:
		park(w, s, m);
		return;
	case EMSE_S_ESTABLISHED:
	case EMSE_S_ESTABLISHED_WOLFSSL:
		if (hello) {
			new_handshake(w, m, flow, li, data, len, s);
			return;
		}
		on_established(w, s, data, len);
		break;
	}
	rte_pktmbuf_free(m);
}

/* The memo's compare: the usual length without a call to memcmp (the CID is public: it is on the
 * wire in the clear). */
static inline bool cid_same(const uint8_t *a, const uint8_t *b, unsigned len)
{
	if (len == 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x == y;
	}
	return memcmp(a, b, len) == 0;
}

/* emse_cid_decode, through the worker's memo of recent CIDs: a set of two, the newer first. */
static int cid_lookup(struct emse_worker *w, unsigned len, const uint8_t *cid, unsigned *owner,
		      uint32_t *slot, uint32_t *check)
{
	struct emse_cid_memo *e = &w->cid_memo[(cid[1] | cid[2] << 8) & (EMSE_CID_MEMO - 2)];
	for (int i = 0; i < 2; i++)
		if (e[i].len == len && cid_same(e[i].cid, cid, len)) {
			*owner = e[i].worker;
			*slot = e[i].slot;
			*check = e[i].check;
			return 0;
		}
	w->stats.cid_decodes++;
	if (emse_cid_decode(w->rt->cid, len, cid, owner, slot, check) != 0)
		return -1; /* a miss evicts nothing */
	cid_memo_put(w, len, cid, *owner, *slot, *check);
	return 0;
}

/* Hands a frame to the worker that owns its flow (consumes m). */
static void steer_to(struct emse_worker *w, unsigned owner, struct rte_mbuf *m)
{
	if (rte_ring_mp_enqueue(w->rt->workers[owner]->steer, m) != 0) {
		w->stats.dp_drop[EMSE_DP_STEER_FULL]++;
		rte_pktmbuf_free(m);
	} else {
		w->stats.steered_out++;
	}
}

void emse_worker_steer(struct emse_worker *w, unsigned owner, struct rte_mbuf *m)
{
	steer_to(w, owner, m);
}

void emse_worker_rx(struct emse_worker *w, struct rte_mbuf *m, bool may_steer)
{
	struct emse_flow flow;
	uint16_t off = 0, plen = 0;
	enum emse_drop_reason why = EMSE_DROP_NONE;

	if (may_steer) {
		w->stats.rx_pkts++;
		w->stats.rx_bytes += m->pkt_len;
	}
	if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) {
		w->stats.net_drop[EMSE_DROP_RUNT]++;
		rte_pktmbuf_free(m);
		return;
	}
	uint16_t len = rte_pktmbuf_data_len(m);
	struct emse_addr arp_from;
	uint8_t arp_mac[6];
	if (emse_arp_sender(&w->rt->iface, rte_pktmbuf_mtod(m, uint8_t *), len, &arp_from, arp_mac))
		emse_neigh_learn(&w->fwd, &arp_from, arp_mac);
	bool csum_pending;
	switch (emse_net_classify_defer(&w->rt->iface, rte_pktmbuf_mtod(m, uint8_t *), &len, &flow,
					&off, &plen, &why, &csum_pending)) {
	case EMSE_NET_DROP:
		w->stats.net_drop[why]++;
		rte_pktmbuf_free(m);
		return;
	case EMSE_NET_NEIGH: /* the answer to our Neighbour Solicitation, or not asked for */
		w->stats.nd_learnt += emse_neigh_learn(&w->fwd, &flow.peer, flow.peer_mac);
		rte_pktmbuf_free(m);
		return;
	case EMSE_NET_REPLY: {
		const uint8_t *fr = rte_pktmbuf_mtod(m, const uint8_t *);
		if (flow.peer.family == 6) /* a solicitation that told us its sender's MAC */
			w->stats.nd_learnt += emse_neigh_learn(&w->fwd, &flow.peer, flow.peer_mac);
		if (fr[12] == 0x08 && fr[13] == 0x06)
			w->stats.arp_replies++;
		else
			w->stats.icmp_replies++; /* echo replies and neighbour advertisements */
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - len));
		tx_enqueue(w, m);
		return;
	}
	case EMSE_NET_UDP:
		break;
	}
	/* The port's word on the UDP checksum replaces the software sum; without one (no offload,
	 * or the port could not tell) the software check stays pending as it would be. Counted
	 * where the frame came off the port, not again after steering. */
	if (csum_pending && w->rx_csum_hw) {
		enum emse_rx_csum v = emse_rx_csum_verdict(m->ol_flags);
		if (v == EMSE_RX_CSUM_GOOD) {
			csum_pending = false;
			w->stats.rx_csum_hw_good += may_steer;
		} else if (v == EMSE_RX_CSUM_BAD) {
			w->stats.rx_csum_hw_bad++;
			w->stats.net_drop[EMSE_DROP_UDP_CSUM]++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	/* steered datagrams are classified again by their owner */
	const uint8_t *udp = csum_pending ? rte_pktmbuf_mtod_offset(m, uint8_t *, off - 8) : NULL;
	const struct emse_config *cfg = w->rt->cfg;
	if (w->rt->cluster && flow.local_port == w->rt->cluster->port) {
		emse_cfwd_in(w, m, off, plen, may_steer); /* an envelope authenticates itself */
		return;
	}
	if (cfg->has_forward && flow.local_port >= cfg->fwd_first &&
	    flow.local_port - cfg->fwd_first < cfg->fwd_count) {
		unsigned owner = emse_fwd_port_owner(flow.local_port, cfg->fwd_first, cfg->fwd_count,
						     w->rt->n_workers);
		if (may_steer && owner != w->id) {
			steer_to(w, owner, m);
			return;
		}
		if (!csum_bad(w, &flow, udp))
			on_backend_answer(w, &flow, rte_pktmbuf_mtod_offset(m, uint8_t *, off), plen);
		rte_pktmbuf_free(m);
		return;
	}
	int li = find_listener(cfg, &flow);
	if (li < 0) {
		if (!csum_bad(w, &flow, udp))
			w->stats.dp_drop[EMSE_DP_NO_LISTENER]++;
		rte_pktmbuf_free(m);
		return;
	}
	const struct emse_listener_conf *l = &cfg->listeners[li];
	const uint8_t *pl = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	if (l->cid && plen >= EMSE_REC_HDR + l->cid_length && pl[0] == EMSE_REC_CT_CID &&
	    w->rt->cid) {
		/* RFC 9146: the CID names the session's worker and slot, whatever the address */
		if (w->rt->cluster && pl[11] != w->rt->cluster->node_id) {
			emse_cfwd_out(w, m, &flow, off, plen, udp); /* another node's */
			return;
		}
		unsigned owner;
		uint32_t slot, check;
		if (cid_lookup(w, l->cid_length, pl + 11, &owner, &slot, &check) != 0 ||
		    owner >= w->rt->n_workers) {
			w->stats.cid_unknown++;
			rte_pktmbuf_free(m);
			return;
		}
		if (owner != w->id) {
			if (may_steer) {
				steer_to(w, owner, m);
			} else { /* steered here, yet not ours: cannot happen with one codec */
				w->stats.cid_unknown++;
				rte_pktmbuf_free(m);
			}
			return;
		}
		rte_pktmbuf_adj(m, off);
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - plen));
		on_cid_datagram(w, m, &flow, (unsigned)li, slot, check, udp);
		return;
	}
	/* With RSS every datagram of a flow comes on one queue, so that queue's worker owns the flow;
	 * emse_flow_owner (a different hash) would re-steer most of them. Steering stays for ports
	 * without RSS and for what the port did not hash (docs/deploy.md). */
	if (may_steer) {
		if (w->rss && (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)) {
			w->stats.rss_owned++;
		} else {
			unsigned owner = emse_flow_owner(&flow, w->rt->n_workers);
			if (owner != w->id) {
				steer_to(w, owner, m);
				return;
			}
		}
	}
	rte_pktmbuf_adj(m, off);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - plen));
	on_datagram(w, m, &flow, (unsigned)li, udp);
}

/* Replay: one packet at a time, on the capture's clock. A handshake that parks for its key
 * is resolved before the next packet, and timers fire between packets when the capture's time
 * passes them, so the same capture gives the same output whatever the machine's speed. */
unsigned emse_worker_completions(struct emse_worker *w)
{
	struct emse_key_completion done[EMSE_BURST];
	unsigned nc = emse_control_poll(w->rt->control, w->id, done, EMSE_BURST);
	for (unsigned i = 0; i < nc; i++)
		on_key_completion(w, &done[i]);
	return nc;
}

static void replay_wait_parked(struct emse_worker *w)
{
	while (w->parked && !w->rt->stop) {
		unsigned nc = emse_worker_completions(w);
		rte_rcu_qsbr_quiescent(w->rt->qsbr, w->id);
		if (!nc)
			rte_pause();
	}
}

static void replay_step(struct emse_worker *w)
{
	const struct emse_runtime *rt = w->rt;
	struct rte_mbuf *m;
	if (rte_eth_rx_burst(w->port, w->queue, &m, 1) == 0) {
		/* net_pcap returns nothing once the capture is exhausted. */
		if (++w->replay_idle > 100000 && !w->parked)
			w->replay_done = true;
		return;
	}
	w->replay_idle = 0;
	if (rt->ts_offset >= 0 && (m->ol_flags & rt->ts_flag)) {
		uint64_t us = *RTE_MBUF_DYNFIELD(m, rt->ts_offset, rte_mbuf_timestamp_t *);
		uint64_t t = us * (rt->hz / 1000000);
		if (!w->now) { /* the first packet starts the clock */
			w->next_tick = t + w->tick_ticks;
			w->cookie_next = t + w->cookie_ticks;
		}
		if (t > w->now)
			w->now = t;
	}
	while (w->next_tick <= w->now) {
		uint64_t at = w->now;
		w->now = w->next_tick;
		emse_worker_timers(w);
		w->now = at;
		w->next_tick += w->tick_ticks;
	}
	w->stats.rx_pkts++;
	emse_worker_rx(w, m, false);
	replay_wait_parked(w);
	emse_worker_flush(w);
}

/* Under /emse/port/pause: no rx or tx burst until it is lifted. Why: DPDK 22.11's memif PMD
 * unmaps a departing peer's rings from its interrupt thread with nothing to stop a worker that
 * is polling them at that moment (a fault in rte_eth_rx_burst, seen in bench/run-persist.sh);
 * a peer that leaves while every worker keeps off the port is safe. Sessions wait: their timers
 * run late, nothing is dropped. The stores and the re-check are sequentially consistent so that
 * the telemetry thread, which sets port_pause and then reads port_idle, cannot see a stale
 * "idle" from a worker already on its way back to the port (a Dekker pair). */
static void worker_port_paused(struct emse_worker *w)
{
	const struct emse_runtime *rt = w->rt;
	do {
		__atomic_store_n(&w->port_idle, true, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&rt->port_pause, __ATOMIC_SEQ_CST) && !rt->stop) {
			rte_rcu_qsbr_quiescent(rt->qsbr, w->id);
			rte_delay_us_sleep(50);
		}
		__atomic_store_n(&w->port_idle, false, __ATOMIC_SEQ_CST);
	} while (__atomic_load_n(&rt->port_pause, __ATOMIC_SEQ_CST) && !rt->stop);
}

int emse_worker_main(void *arg)
{
	struct emse_worker *w = arg;
	const struct emse_runtime *rt = w->rt;
	struct rte_mbuf *pkts[EMSE_BURST];

	emse_dtls_pool_bind(&w->pool);
	emse_control_worker_register(rt->control, w->id);
	if (rt->seeded)
		emse_rng_seed_thread(rt->seed, 1 + w->id);
	w->now = rt->replay ? 0 : rte_rdtsc();
	w->next_tick = w->now + w->tick_ticks;
	w->cookie_next = w->now + w->cookie_ticks;

	/* One clock read per iteration: the time since the previous read is that iteration's, busy
	 * if it had work. */
	uint64_t prev = rte_rdtsc();
	bool prev_work = false;
	uint32_t iter = 0;
	while (!rt->stop) {
		if (unlikely(__atomic_load_n(&rt->port_pause, __ATOMIC_RELAXED))) {
			worker_port_paused(w);
			prev = rte_rdtsc(); /* the pause is nobody's time */
			continue;
		}
		uint64_t t0 = rte_rdtsc();
		uint64_t dt = t0 - prev;
		prev = t0;
		w->stats.total_cycles += dt;
		w->stats.loops++;
		if (prev_work) {
			w->stats.busy_cycles += dt;
		} else {
			/* What an idle poll costs, from the polls the machine did not interrupt:
			 * the thread's CPU time minus the idle polls is its busy CPU time. */
			w->stats.idle_loops++;
			if (dt < w->idle_clean_max) {
				w->stats.idle_clean_cycles += dt;
				w->stats.idle_clean_n++;
			}
		}
		if (!rt->replay)
			w->now = t0;
		unsigned work = 0;
		iter++;

		if (rt->replay) {
			replay_step(w);
			goto end_of_loop;
		}
		uint16_t n = rte_eth_rx_burst(w->port, w->queue, pkts, EMSE_BURST);
		if (n) /* an empty poll is idle time, not the port's cost */
			w->stats.port_rx_cycles += rte_rdtsc() - t0;
		for (uint16_t i = 0; i < n; i++)
			emse_worker_rx(w, pkts[i], true);
		work += n;

		/* Only other workers steer to this one. */
		if (rt->n_workers > 1) {
			n = (uint16_t)rte_ring_sc_dequeue_burst(w->steer, (void **)pkts, EMSE_BURST,
								NULL);
			w->stats.steered_in += n;
			for (uint16_t i = 0; i < n; i++)
				emse_worker_rx(w, pkts[i], false);
			work += n;
		}

		/* A completion matters to a parked handshake only; with none parked, late ones
		 * (their handshake timed out) are drained every 64 iterations. */
		if (w->parked || (iter & 63) == 0)
			work += emse_worker_completions(w);

		if (w->now >= w->next_tick) {
			emse_worker_timers(w);
			emse_persist_worker_poll(w);
			emse_resume_sweep(&w->resume, &w->ids, unix_now(w), 64);
			w->next_tick = w->now + w->tick_ticks;
		}
		emse_worker_flush(w);
end_of_loop:
		rte_rcu_qsbr_quiescent(rt->qsbr, w->id);
		prev_work = work != 0;
	}
	emse_control_worker_unregister(rt->control, w->id);
	return 0;
}
