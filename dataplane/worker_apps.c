/* The applications behind an established session: echo sends the data back; forward relays it to
 * the listener's backend over UDP (with ARP / ND for the backend's MAC and a PROXY v2 header)
 * and the backend's answers back to the session. */
#include "worker_priv.h"

/* Sends application data to the UE, through whichever record layer the session uses. */
static void session_send_app(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			     size_t len)
{
	if (s->state == EMSE_S_ESTABLISHED_WOLFSSL) {
		if (emse_dtls_write(s->u.hs.ssl, data, len) == 0)
			w->stats.app_tx++;
		return;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	uint16_t hl = emse_net_hdr_len(&s->flow);
	size_t cap = len + EMSE_REC_MAX_OVERHEAD + EMSE_REC_CID_OVERHEAD, n;
	uint8_t *p = cap > (size_t)(UINT16_MAX - hl) ? NULL
						      : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + cap));
	/* to the client's CID when it has one (emse_record_seal otherwise) */
	if (!p || emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_APP, s->peer_cid, data, len,
				       p + hl, cap, &n)) {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(cap - n));
	emse_net_write_udp_nocsum(&w->rt->iface, &s->flow, p, (uint16_t)n);
	tx_enqueue_csum(w, m, true);
	w->stats.app_tx++;
}

void emse_worker_ask_neigh(struct emse_worker *w, const struct emse_addr *sender,
			   const struct emse_addr *target)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, EMSE_NEIGH_REQ_MAX) : NULL;
	if (!p) {
		rte_pktmbuf_free(m);
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	uint16_t n = emse_neigh_request(p, w->rt->iface.mac, sender, target);
	rte_pktmbuf_trim(m, (uint16_t)(EMSE_NEIGH_REQ_MAX - n));
	tx_enqueue(w, m);
	if (target->family == 6)
		w->stats.nd_requests++;
	else
		w->stats.arp_requests++;
}

/* Forward mode: the plaintext goes to the listener's backend behind a PROXY v2 header saying
 * who the UE is (address, port, app id, key id), from the session's own port. */
static void forward_to_backend(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			       size_t len)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
	if (!s->fwd_port) {
		s->fwd_port = emse_fwd_port_alloc(&w->fwd, emse_session_idx(&w->sessions, s));
		if (!s->fwd_port) {
			w->stats.dp_drop[EMSE_DP_FWD_PORTS_FULL]++;
			return;
		}
	}
	struct emse_flow bf = { .peer = l->backend, .local = l->addr,
				.peer_port = l->backend_port, .local_port = s->fwd_port };
	memcpy(bf.local_mac, w->rt->iface.mac, 6);
	bool ask = false;
	if (!emse_neigh_lookup(&w->fwd, &l->backend, bf.peer_mac, w->now, w->rt->hz, &ask)) {
		if (ask) /* from the listener's address: the backend answers to it */
			emse_worker_ask_neigh(w, &l->addr, &l->backend);
		w->stats.dp_drop[EMSE_DP_BACKEND_UNRESOLVED]++;
		return;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	uint16_t hl = emse_net_hdr_len(&bf);
	size_t cap = EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX + len;
	uint8_t *p = cap > (size_t)(UINT16_MAX - hl) ? NULL
						      : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + cap));
	struct e2m_identity id;
	if (emse_idarena_get(&w->ids, s->id_ref, &id) != 0)
		memset(&id, 0, sizeof(id)); /* arena was full: the header goes without the TLVs */
	int n = p ? emse_proxy_v2_write(p + hl, EMSE_PP2_MAX, &s->flow, EMSE_PP2_DGRAM, id.app_id,
					id.app_id_len, id.key_id)
		  : -1;
	if (n >= 0 && w->cid_moved)
		n = emse_proxy_v2_add_moved(p + hl, (size_t)n, EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX,
					    &w->cid_prev);
	if (n < 0) {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p + hl + n, data, len);
	rte_pktmbuf_trim(m, (uint16_t)(EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX - (size_t)n));
	emse_net_write_udp_nocsum(&w->rt->iface, &bf, p, (uint16_t)(n + len));
	tx_enqueue_csum(w, m, true);
	w->stats.fwd_tx++;
}

void on_app_data(void *arg, struct emse_session *s, uint8_t *data, size_t len)
{
	struct emse_worker *w = arg;
	w->stats.app_rx++;
	w->stats.app_rx_bytes += len;
	if (w->rt->cfg->listeners[s->listener].mode == EMSE_APP_FORWARD)
		forward_to_backend(w, s, data, len);
	else
		session_send_app(w, s, data, len);
}

/* A backend's answer to one of our forward ports: encrypted to that session's UE. */
void on_backend_answer(struct emse_worker *w, const struct emse_flow *f, const uint8_t *data,
		       size_t len)
{
	uint32_t idx = emse_fwd_port_session(&w->fwd, f->local_port);
	struct emse_session *s = idx < w->sessions.max ? &w->sessions.s[idx] : NULL;
	if (!s || !emse_session_established(s) || s->fwd_port != f->local_port ||
	    !emse_addr_eq(&w->rt->cfg->listeners[s->listener].backend, &f->peer) ||
	    w->rt->cfg->listeners[s->listener].backend_port != f->peer_port) {
		w->stats.dp_drop[EMSE_DP_BACKEND_NO_SESSION]++;
		return;
	}
	w->stats.fwd_rx++;
	session_send_app(w, s, data, len);
}
