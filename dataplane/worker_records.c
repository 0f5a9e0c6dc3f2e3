/* Established sessions: the records of a datagram opened (the in-place echo is in worker_priv.h),
 * their data handed to the application, alerts and repeated Finished handled; RFC 9146 connection
 * ids (docs/cid.md), including the peer's address update when an authentic record moves. */
#include "worker_priv.h"

/* What an opened record of a compact session asks for: its data to the application, an alert ends
 * the session (close_notify answered), a repeated Finished gets our last flight again. 1: it was
 * authentic, 0: not (dropped and counted by record.c under its reason), -1: the session ended. */
static int on_record(struct emse_worker *w, struct emse_session *s, enum emse_rec_rc r, size_t n)
{
	switch (r) {
	case EMSE_REC_DATA:
		on_app_data(w, s, w->appbuf, n);
		return 1;
	case EMSE_REC_ALERT:
		session_close(w, s, w->appbuf[1] == EMSE_REC_ALERT_CLOSE_NOTIFY ? EMSE_CLOSE_NOTIFY
										: EMSE_CLOSE_ALERT,
			      w->appbuf[1] == EMSE_REC_ALERT_CLOSE_NOTIFY);
		return -1;
	case EMSE_REC_RETX: {
		const struct emse_flight_slot *f = emse_record_flight(&w->rc, &s->u.rec);
		for (unsigned i = 0; f && i < f->n_dg; i++)
			send_datagram(w, &s->flow, emse_flight_dg(f, i), f->len[i]);
		w->stats.retransmits++;
		return 1;
	}
	case EMSE_REC_DROP:
	case EMSE_REC_HANDSHAKE: /* not while established: F_HANDSHAKE is off */
		break;
	}
	return 0;
}

/* A compact session: each record of the datagram opened by record.c. True if one of them was
 * authentic: only that keeps the session from its idle timeout, not a spoofed datagram. */
static bool on_established_compact(struct emse_worker *w, struct emse_session *s,
				   const uint8_t *data, size_t len)
{
	size_t off = 0, used, n;
	uint8_t type;
	enum emse_rec_drop why;
	bool authentic = false;
	/* a CID session's client repeating its flight 3 sends it here by address: its Finished is
	 * a tls12_cid record (emse_record_open_cid hands the plain ones to emse_record_open) */
	unsigned cid_len = s->u.rec.flags & EMSE_REC_F_CID
				   ? w->rt->cfg->listeners[s->listener].cid_length : 0;
	while (off < len) {
		enum emse_rec_rc r =
			cid_len ? emse_record_open_cid(&w->rc, &s->u.rec, data + off, len - off,
						       cid_len, &used, w->appbuf, &n, &type, &why)
				: emse_record_open(&w->rc, &s->u.rec, data + off, len - off, &used,
						   w->appbuf, &n, &type, &why);
		int k = on_record(w, s, r, n);
		if (k < 0)
			return false;
		authentic |= k > 0;
		off += used;
	}
	return authentic;
}

void on_established(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
		    size_t len)
{
	int err = 0;
	if (s->state == EMSE_S_ESTABLISHED) {
		uint32_t gen = s->gen;
		bool authentic = on_established_compact(w, s, data, len);
		if (s->gen != gen || s->state != EMSE_S_ESTABLISHED || !authentic)
			return; /* closed, or nothing in it was the peer's */
		goto touch;
	}
	switch (emse_dtls_read(s->u.hs.ssl, s, data, len, w->appbuf, sizeof(w->appbuf), on_app_data, w,
			       &err)) {
	case EMSE_DTLS_CLOSED:
		session_close(w, s, EMSE_CLOSE_NOTIFY, true);
		return;
	case EMSE_DTLS_FATAL:
		session_close(w, s, EMSE_CLOSE_ALERT, false);
		return;
	default:
		break;
	}
touch:
	session_touch(w, s);
}

static bool emse_flow_same_peer(const struct emse_flow *a, const struct emse_flow *b)
{
	return a->peer_port == b->peer_port && emse_addr_eq(&a->peer, &b->peer);
}

/* The records of a datagram that named session s by its CID, from flow. The peer address moves
 * to flow only on a record that authenticates and is newer than every record before it (RFC 9146
 * 6); from another address anything else is dropped and answered nowhere. True if a record was
 * authentic (from the session's address after this datagram). */
static bool on_cid_records(struct emse_worker *w, struct emse_session *s, const struct emse_flow *flow,
			   unsigned cid_len, const uint8_t *data, size_t len)
{
	size_t off = 0, used, n;
	uint8_t type;
	enum emse_rec_drop why;
	bool authentic = false;
	uint32_t gen = s->gen;
	while (off < len && s->gen == gen && s->state == EMSE_S_ESTABLISHED) {
		uint64_t newest = s->u.rec.rnext;
		bool elsewhere = !emse_flow_same_peer(&s->flow, flow);
		enum emse_rec_rc r = emse_record_open_cid(&w->rc, &s->u.rec, data + off, len - off,
							  cid_len, &used, w->appbuf, &n, &type,
							  &why);
		off += used;
		if (r == EMSE_REC_DROP) {
			w->stats.cid_rec_drop[why]++;
			continue;
		}
		if (elsewhere) {
			/* authentic: newer than all before it, or a reordered/held-back copy */
			if (!emse_rec_was_newest(&s->u.rec, newest)) {
				w->stats.cid_addr_refused++;
				continue;
			}
			struct emse_session_key k;
			emse_session_key_of(flow, s->listener, &k);
			struct emse_session *o = emse_session_find(&w->sessions, &k);
			/* whoever held that address before does not any more: a session without a
			 * CID is unreachable now and ends; a CID session lives on, by its CID
			 * (the NAT gave its old port to this UE; its own records come from another) */
			if (o && o != s && o->state == EMSE_S_ESTABLISHED &&
			    (o->u.rec.flags & EMSE_REC_F_CID)) {
				emse_session_detach(&w->sessions, o);
				w->stats.cid_addr_taken++;
			} else if (o && o != s) {
				session_close(w, o, EMSE_CLOSE_REPLACED, false);
			}
			w->cid_prev = s->flow;
			if (emse_session_move(&w->sessions, s, flow) != 0) {
				w->stats.dp_drop[EMSE_DP_SESSIONS_FULL]++;
				continue;
			}
			w->cid_moved = true;
			w->stats.cid_addr_changes++;
		}
		int k = on_record(w, s, r, n);
		authentic = k < 0 ? false : authentic || k > 0;
		w->cid_moved = false;
	}
	w->cid_moved = false;
	return authentic;
}

/* echo_in_place for a CID session's record from its own address (a move takes the copying path):
 * one tls12_cid record of application data is opened in place, and the reply sealed over it so
 * that its plaintext stays where it is. The reply's header is shorter by our CID less the
 * client's, so it starts that many octets later in the mbuf. Returns false, touching nothing, when
 * the datagram is not that case; true when m was consumed. */
static bool echo_in_place_cid(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
			      unsigned cl)
{
	uint8_t *rec = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	uint16_t hl = emse_net_hdr_len(&s->flow);
	unsigned pl = emse_rec_peer_cid_len(&s->u.rec), skip = cl - pl; /* cl >= 4 >= pl */
	if (len < EMSE_REC_HDR + cl ||
	    (size_t)(rec[11 + cl] << 8 | rec[12 + cl]) + EMSE_REC_HDR + cl != len ||
	    w->rt->cfg->listeners[s->listener].mode != EMSE_APP_ECHO || !RTE_MBUF_DIRECT(m) ||
	    rte_mbuf_refcnt_read(m) != 1 || rte_pktmbuf_headroom(m) + skip < hl)
		return false;
	uint8_t *plain = rec + EMSE_REC_HDR + cl + EMSE_REC_EXPLICIT;
	size_t used, n, out_len;
	uint8_t type;
	enum emse_rec_drop why;
	enum emse_rec_rc r = emse_record_open_cid(&w->rc, &s->u.rec, rec, len, cl, &used, plain, &n,
						  &type, &why);
	if (r == EMSE_REC_DROP) {
		w->stats.cid_rec_drop[why]++;
		rte_pktmbuf_free(m);
		return true;
	}
	if (r != EMSE_REC_DATA) { /* an alert, a repeated Finished: as on the copying path */
		if (on_record(w, s, r, n) > 0 && s->state == EMSE_S_ESTABLISHED)
			session_touch(w, s);
		rte_pktmbuf_free(m);
		return true;
	}
	w->stats.app_rx++;
	w->stats.app_rx_bytes += n;
	uint8_t *out = rec + skip;
	if (emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_APP, s->peer_cid, plain, n, out,
				 len - skip, &out_len) == 0) {
		rte_pktmbuf_adj(m, (uint16_t)skip);
		send_in_place(w, s, m, hl, len - skip, out_len);
		m = NULL;
	} else {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
	}
	session_touch(w, s); /* authentic */
	rte_pktmbuf_free(m);
	return true;
}

/* A datagram for listener li whose first record is tls12_cid with a CID of ours naming this
 * worker's slot (already decoded). Consumes m. udp: the UDP header if its checksum is pending. */
void on_cid_datagram(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		     unsigned li, uint32_t slot, uint32_t check, const uint8_t *udp)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[li];
	struct emse_session *s = slot < w->sessions.max ? &w->sessions.s[slot] : NULL;
	/* the check bits compared without a branch on their value */
	uint32_t diff = s ? (uint32_t)(s->u.rec.cid_check ^ check) : 1;
	bool live = s && s->state == EMSE_S_ESTABLISHED && (s->u.rec.flags & EMSE_REC_F_CID) &&
		    s->listener == li;
	if (!live || diff) {
		w->stats.cid_unknown++;
		rte_pktmbuf_free(m);
		return;
	}
	/* The checksum covers the addresses, the AEAD tag does not: a datagram that would move
	 * the session is checked (a corrupted source must not become the peer's address). */
	bool same = emse_flow_same_peer(&s->flow, flow);
	if (csum_bad(w, flow, same ? NULL : udp)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (same && echo_in_place_cid(w, s, m, l->cid_length))
		return;
	if (on_cid_records(w, s, flow, l->cid_length, rte_pktmbuf_mtod(m, const uint8_t *),
			   rte_pktmbuf_data_len(m)) &&
	    s->state == EMSE_S_ESTABLISHED)
		session_touch(w, s);
	rte_pktmbuf_free(m);
}
