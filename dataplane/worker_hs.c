/* The worker's handshake driving: a verified ClientHello starts a handshake on hs12.c (native,
 * resumption included) or on a pooled wolfSSL object; the ClientKeyExchange's identity asks the key
 * cache, parking the handshake while the EMKS answers; the finished handshake becomes a compact
 * session (established). */
#include "worker_priv.h"

/* The handshake is done: take keys, sequence numbers and window out of wolfSSL and give the object
 * back (an idle compact session is a few hundred bytes instead of ~16 KB). Suites record.c does
 * not handle (CBC) stay on wolfSSL. */
void established(struct emse_worker *w, struct emse_session *s)
{
	struct emse_record_state rec;
	w->stats.hs_completed++;
	emse_list_remove(&w->sessions, &w->sessions.hs, s);
	/* The identity moves to the arena (a reference in the session); the rest of what only the
	 * handshake needed goes back to its table. */
	s->id_ref = emse_idarena_put(&w->ids, &s->u.hs.x->id);
	if (!s->id_ref)
		w->stats.id_arena_full++;
	WOLFSSL *ssl = s->u.hs.ssl;
	int rc;
	const struct emse_record_state *native = NULL;
	uint8_t peer_cid[EMSE_REC_PEER_CID_MAX] = {0};
	if (s->u.hs.native) {
		const struct emse_hs12 *h = &s->u.hs.x->n;
		native = &h->rec; /* hs12.c ends in the compact state itself */
		if (h->sid_len && !h->resumed) /* resumable from now on; extra_give wipes h->ms */
			emse_resume_put(&w->resume, &w->ids, h->sid, h->ms, h->rec.suite, h->rec.cipher,
					h->ems, &s->u.hs.x->id, unix_now(w));
		rec = *native;
		memcpy(peer_cid, s->u.hs.x->n.peer_cid, sizeof(peer_cid));
		rc = 0;
	} else {
		rc = w->flight_ok && w->flight_n ? emse_record_import(&rec, ssl) : EMSE_REC_E_STATE;
	}
	extra_give(w, s);
	if (rc == 0) {
		const uint8_t *dg[EMSE_FLIGHT_MAX_DG];
		size_t len[EMSE_FLIGHT_MAX_DG], off = 0;
		for (unsigned i = 0; i < w->flight_n; i++) {
			dg[i] = w->flight + off;
			len[i] = w->flight_len[i];
			off += len[i];
		}
		if (w->flight_n && emse_record_flight_hold(&w->rc, &rec, dg, len, w->flight_n) != 0)
			w->stats.flight_not_held++;
		emse_dtls_pool_put(&w->pool, ssl, 0, 0);
		e2m_wipe(&s->u, sizeof(s->u));
		s->u.rec = rec;
		if (native)
			emse_record_moved(&w->rc, native, &s->u.rec);
		e2m_wipe(&rec, sizeof(rec));
		s->state = EMSE_S_ESTABLISHED;
		w->stats.compacted++;
		if (s->u.rec.flags & EMSE_REC_F_CID) {
			memcpy(s->peer_cid, peer_cid, sizeof(s->peer_cid));
			w->stats.cid_sessions++;
		}
	} else {
		s->state = EMSE_S_ESTABLISHED_WOLFSSL;
		s->u.hs.rtx_at = 0;
		emse_dtls_pool_detach(&w->pool);
		w->stats.kept_on_wolfssl++;
	}
	s->deadline = w->now + w->idle_ticks;
	emse_list_push(&w->sessions, &w->sessions.est, s);
}

/* hs12.c: one datagram of the client's flight. Returns false if the session is gone. */
static bool feed_native(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			size_t len)
{
	struct emse_hs_extra *x = s->u.hs.x;
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t n;
	enum emse_hs_fail why;
	switch (emse_hs12_input(&x->n, &w->rc, x->key, s->u.hs.have_key ? sizeof(x->key) : 0, data,
				len, out, &n, &why)) {
	case EMSE_HS12_WANT:
		return true;
	case EMSE_HS12_RESEND: {
		const uint8_t *f = emse_hs12_flight(&x->n, &n);
		send_datagram(w, &s->flow, f, n);
		w->stats.retransmits++;
		return true;
	}
	case EMSE_HS12_DONE:
		/* our last flight, for a client that repeats its Finished (record.c); none after an
		 * abbreviated handshake, where the client's Finished is the last message */
		if (n)
			send_datagram(w, &s->flow, out, n);
		memcpy(w->flight, out, n);
		w->flight_len[0] = (uint16_t)n;
		w->flight_n = n ? 1 : 0;
		established(w, s);
		return true;
	case EMSE_HS12_FATAL:
		break;
	}
	if (n && send_datagram(w, &s->flow, out, n) == 0)
		w->stats.alerts_sent++;
	hs_fail(w, s, why);
	return false;
}

/* Feeds one datagram of the handshake to its engine. Returns false if the session is gone. */
bool feed_handshake(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
		    size_t len)
{
	int err = 0;
	if (s->u.hs.native)
		return feed_native(w, s, data, len);
	uint32_t drops = s->u.hs.have_key ? emse_dtls_mac_drops(s->u.hs.ssl) : 0;
	w->capture = true;
	w->flight_ok = true;
	w->flight_n = 0;
	w->flight_used = 0;
	enum emse_dtls_rc rc = emse_dtls_handshake(s->u.hs.ssl, s, data, len, &err);
	w->capture = false;
	switch (rc) {
	case EMSE_DTLS_WANT:
		/* With the key in place, a record that does not decrypt is the client's Finished
		 * under another key: fail now, with an alert, rather than at the timeout. (Whoever
		 * could forge it could as well forge a plaintext fatal alert.) */
		if (s->u.hs.have_key && emse_dtls_mac_drops(s->u.hs.ssl) != drops) {
			emse_dtls_alert_bad_mac(s->u.hs.ssl);
			w->stats.alerts_sent++;
			hs_fail(w, s, EMSE_HS_FAIL_BAD_FINISHED);
			return false;
		}
		s->u.hs.rtx_at = w->now + (uint64_t)emse_dtls_timeout_s(s->u.hs.ssl) * w->rt->hz;
		return true;
	case EMSE_DTLS_DONE:
		established(w, s);
		return true;
	default:
		hs_fail(w, s, (enum emse_hs_fail)emse_dtls_fail_reason(err));
		return false;
	}
}

/* The handshake cannot go on (no key): let wolfSSL process the ClientKeyExchange without one, so
 * that it answers with the alert (unknown_psk_identity), then count our reason. */
static void fail_with_alert(struct emse_worker *w, struct emse_session *s, const uint8_t *cke,
			    size_t len, enum emse_hs_fail why)
{
	int err = 0;
	s->u.hs.have_key = 0;
	if (s->u.hs.native) {
		uint8_t alert[16];
		size_t n = emse_hs12_alert(&s->u.hs.x->n, 115 /* unknown_psk_identity */, alert);
		if (send_datagram(w, &s->flow, alert, n) == 0)
			w->stats.alerts_sent++;
	} else if (emse_dtls_handshake(s->u.hs.ssl, s, cke, len, &err) == EMSE_DTLS_FATAL) {
		w->stats.alerts_sent++;
	}
	if (s->state != EMSE_S_FREE)
		hs_fail(w, s, why);
}

void park(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m)
{
	if (s->u.hs.n_parked == EMSE_PARK_DGRAMS) {
		w->stats.dp_drop[EMSE_DP_PARK_QUEUE_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	s->u.hs.x->parked[s->u.hs.n_parked++] = m;
}

/* m has been trimmed to the UDP payload (data, len). Consumes m. */
void on_identity(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
		 const uint8_t *data, size_t len, const uint8_t *idp, uint16_t idl)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
	if (e2m_identity_parse(idp, idl, &s->u.hs.x->id) != E2M_ID_OK) {
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_NOT_E2M);
		rte_pktmbuf_free(m);
		return;
	}
	struct emse_keycache *kc = emse_control_cache(w->rt->control, l->emse_idx);
	switch (emse_keycache_lookup(kc, w->id, s->u.hs.x->id.key_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len,
				     unix_now(w), s->u.hs.x->key)) {
	case EMSE_KC_HIT:
		w->stats.key_hits++;
		s->u.hs.have_key = 1;
		feed_handshake(w, s, data, len);
		rte_pktmbuf_free(m);
		return;
	case EMSE_KC_NEGATIVE:
		w->stats.key_negative++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_NO_KEY);
		rte_pktmbuf_free(m);
		return;
	case EMSE_KC_MISS:
		break;
	}
	w->stats.key_misses++;
	if (w->parked >= w->rt->cfg->parked_max) {
		w->stats.dp_drop[EMSE_DP_PARKED_FULL]++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_KEY_UNAVAILABLE);
		rte_pktmbuf_free(m);
		return;
	}
	struct emse_key_request req = {
		.token = session_token(w, s),
		.key_id = s->u.hs.x->id.key_id,
		.emse_idx = l->emse_idx,
		.worker = (uint8_t)w->id,
		.app_id_len = s->u.hs.x->id.app_id_len,
	};
	memcpy(req.app_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len);
	if (emse_control_post(w->rt->control, &req) != 0) {
		w->stats.dp_drop[EMSE_DP_CONTROL_FULL]++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_KEY_UNAVAILABLE);
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.key_requests++;
	w->parked++;
	s->state = EMSE_S_PARKED;
	s->u.hs.rtx_at = w->now + w->park_ticks; /* while parked: the parked deadline */
	park(w, s, m);
}

void on_key_completion(struct emse_worker *w, const struct emse_key_completion *c)
{
	uint32_t idx = (uint32_t)c->token;
	if (idx >= w->sessions.max)
		return;
	struct emse_session *s = &w->sessions.s[idx];
	if (s->gen != (uint32_t)(c->token >> 32) || s->state != EMSE_S_PARKED)
		return; /* the handshake timed out or was replaced meanwhile */
	w->parked--;
	s->state = EMSE_S_HANDSHAKE;
	struct rte_mbuf *first = s->u.hs.x->parked[0];
	const uint8_t *d0 = rte_pktmbuf_mtod(first, const uint8_t *);
	size_t l0 = rte_pktmbuf_data_len(first);
	enum emse_hs_fail why = EMSE_HS_FAIL_KEY_UNAVAILABLE;

	if (c->status == EMSE_FETCH_OK) {
		const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
		struct emse_keycache *kc = emse_control_cache(w->rt->control, l->emse_idx);
		if (emse_keycache_lookup(kc, w->id, s->u.hs.x->id.key_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len,
					 unix_now(w), s->u.hs.x->key) == EMSE_KC_HIT) {
			w->stats.key_parked_resumed++;
			s->u.hs.have_key = 1;
			s->u.hs.rtx_at = 0;
			/* Feed what was held, in arrival order; stop if the session ends. */
			struct rte_mbuf *held[EMSE_PARK_DGRAMS];
			unsigned n = s->u.hs.n_parked;
			memcpy(held, s->u.hs.x->parked, sizeof(held));
			s->u.hs.n_parked = 0;
			uint32_t gen = s->gen;
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *d = rte_pktmbuf_mtod(held[i], const uint8_t *);
				size_t dl = rte_pktmbuf_data_len(held[i]);
				/* The handshake may complete on one of them: what follows (a client
				 * retransmission) then goes to the established session, whose union
				 * now holds record state, not a wolfSSL object. */
				if (s->gen != gen || s->state == EMSE_S_FREE)
					;
				else if (s->state == EMSE_S_HANDSHAKE)
					feed_handshake(w, s, d, dl);
				else if (emse_session_established(s))
					on_established(w, s, d, dl);
				rte_pktmbuf_free(held[i]);
			}
			return;
		}
	} else if (c->status == EMSE_FETCH_NO_KEY) {
		why = EMSE_HS_FAIL_NO_KEY;
	} else if (c->status == EMSE_FETCH_FORBIDDEN) {
		why = EMSE_HS_FAIL_KEY_FORBIDDEN;
	}
	s->u.hs.x->parked[0] = NULL;
	memmove(s->u.hs.x->parked, s->u.hs.x->parked + 1, sizeof(s->u.hs.x->parked[0]) * (EMSE_PARK_DGRAMS - 1));
	s->u.hs.n_parked--;
	fail_with_alert(w, s, d0, l0, why);
	rte_pktmbuf_free(first);
}

/* Session resumption (RFC 5246 7.3): a ClientHello naming a session of the cache, offering its suite
 * and its extended-master-secret state (RFC 7627 5.3: a different one means a full handshake),
 * starts an abbreviated handshake with no key fetch: the identity comes from the cache. The cookie
 * exchange came first, as for a full handshake (docs/persist.md). True if it started. */
static bool resumable(struct emse_worker *w, const struct dtls_client_hello *ch,
		      struct emse_hs12_hello *hello, struct emse_session *s, const uint8_t *cid,
		      unsigned cid_len)
{
	if (!ch->session_id_len)
		return false;
	struct emse_resume *c = &w->resume;
	c->st.offered++;
	const struct emse_resume_entry *e =
		emse_resume_find(c, &w->ids, ch->session_id, ch->session_id_len, unix_now(w));
	bool offered = false;
	for (size_t i = 0; e && i + 1 < ch->suites_len; i += 2)
		offered |= ch->suites[i] == e->suite[0] && ch->suites[i + 1] == e->suite[1];
	struct emse_hs_extra *x = s->u.hs.x;
	if (!e || !offered || e->ems != hello->ems ||
	    (e->id_ref && emse_idarena_get(&w->ids, e->id_ref, &x->id) != 0)) {
		c->st.misses++;
		return false;
	}
	memcpy(hello->suite, e->suite, 2);
	hello->cipher = e->cipher;
	if (emse_hs12_resume(&x->n, &w->rc, hello, e->sid, e->ms, cid, cid_len) != 0) {
		c->st.misses++;
		return false;
	}
	s->u.hs.have_key = 1; /* nothing to fetch: the master secret is the key */
	c->st.accepted++;
	return true;
}

/* hs12.c takes the handshake if it serves what the ClientHello asks for: true if it did (flight 2
 * sent, or the session already failed). */
static bool start_native(struct emse_worker *w, struct emse_session *s,
			 const struct dtls_client_hello *ch)
{
	const struct emse_config *c = w->rt->cfg;
	struct emse_hs12_hello hello;
	enum emse_hs12_skip k = c->hs_native ? emse_hs12_parse_hello(ch, c->suites, &hello)
					     : EMSE_HS12_SKIP_ENGINE;
	if (k != EMSE_HS12_OK) {
		w->stats.hs12_skip[k]++;
		return false;
	}
	struct emse_hs12 *h = &s->u.hs.x->n;
	s->u.hs.native = 1;
	s->u.hs.ssl = NULL;
	w->stats.hs_started++;
	w->stats.hs_native++;
	/* RFC 9146: our CID names this worker and slot (cid.h); its check bits are new each time */
	const struct emse_listener_conf *l = &c->listeners[s->listener];
	uint8_t cid[EMSE_CID_MAX];
	uint16_t check = 0;
	unsigned cid_len = 0;
	if (hello.cid_offered) {
		w->stats.cid_offered++;
		if (l->cid && w->rt->cid && emse_random(&check, sizeof(check)) == 0) {
			cid_len = l->cid_length;
			emse_cid_encode(w->rt->cid, cid_len, w->id, emse_session_idx(&w->sessions, s),
					check, cid);
			/* the client's Finished carries it next: no decode for that one */
			cid_memo_put(w, cid_len, cid, w->id, emse_session_idx(&w->sessions, s), check);
			w->stats.cid_negotiated++;
		}
	}
	/* session resumption and CIDs together: the one ServerHello carries both */
	uint8_t sid[EMSE_SID_LEN];
	int rc;
	if (!w->resume.max) {
		rc = emse_hs12_start_cid(h, &hello, c->psk_hint, cid, cid_len);
	} else if (resumable(w, ch, &hello, s, cid, cid_len)) {
		rc = 0; /* ServerHello, ChangeCipherSpec, Finished: in h->flight */
	} else {
		rc = emse_random(sid, sizeof(sid)) == 0
			     ? emse_hs12_start_sid_cid(h, &hello, c->psk_hint, sid, cid, cid_len)
			     : -1;
	}
	if (rc != 0) {
		hs_fail(w, s, EMSE_HS_FAIL_PROTOCOL);
		return true;
	}
	if (cid_len)
		h->rec.cid_check = (uint16_t)(check & emse_cid_check_mask(w->rt->cid, cid_len));
	send_datagram(w, &s->flow, h->flight, h->flight_len);
	s->u.hs.rtx_at = w->now + w->rt->hz; /* RFC 6347 4.2.4.1: 1 s, doubling */
	return true;
}

/* No session for this peer: only a ClientHello may pass, and only with a valid cookie does it
 * create state. Consumes m. */
void new_handshake(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		   unsigned li, const uint8_t *data, size_t len, struct emse_session *old)
{
	struct dtls_client_hello ch;
	struct dtls_record rec;
	size_t used;
	int r = dtls_parse_client_hello(data, len, &ch);
	if (r != DTLS_PEEK_OK) {
		if (dtls_record_parse(data, len, &rec, &used) != DTLS_PEEK_OK)
			w->stats.dp_drop[EMSE_DP_NOT_DTLS]++; /* not even a DTLS record header */
		else
			w->stats.dp_drop[r == DTLS_PEEK_BAD_TYPE ? EMSE_DP_NOT_CLIENT_HELLO
								 : EMSE_DP_CH_MALFORMED]++;
		goto out;
	}
	uint8_t blob[PEER_BLOB_LEN];
	peer_blob(flow, blob);
	const uint8_t *secret =
		ch.cookie_len ? emse_cookie_verify(&w->cookie, blob, sizeof(blob), &ch) : NULL;
	if (!secret) {
		uint8_t hvr[EMSE_HVR_MAX];
		if (ch.cookie_len)
			w->stats.cookie_invalid++;
		size_t n = emse_cookie_build_hvr(w->cookie.cur, blob, sizeof(blob), &ch, hvr);
		if (send_datagram(w, flow, hvr, n) == 0)
			w->stats.hvr_sent++;
		goto out;
	}
	w->stats.cookie_valid++;
	if (old) /* RFC 6347 4.2.8: a new handshake from a known peer replaces its session */
		session_close(w, old, EMSE_CLOSE_REPLACED, false);
	if (w->sessions.hs.n >= w->rt->cfg->half_open_max) {
		w->stats.dp_drop[EMSE_DP_HALF_OPEN_FULL]++;
		goto out;
	}
	struct emse_session_key k;
	emse_session_key_of(flow, (uint8_t)li, &k);
	bool src_full;
	struct emse_session *s = emse_session_new(&w->sessions, &k, w->now + w->hs_ticks, &src_full);
	if (!s) {
		w->stats.dp_drop[src_full ? EMSE_DP_SOURCE_FULL : EMSE_DP_SESSIONS_FULL]++;
		goto out;
	}
	s->flow = *flow;
	s->listener = (uint8_t)li;
	s->u.hs.x = extra_take(w);
	if (s->u.hs.x && start_native(w, s, &ch))
		goto out;
	s->u.hs.ssl = s->u.hs.x ? emse_dtls_pool_get(&w->pool, s, secret, EMSE_COOKIE_SECRET_LEN,
						     blob, sizeof(blob))
				: NULL;
	if (!s->u.hs.ssl) {
		w->stats.dp_drop[EMSE_DP_POOL_EMPTY]++;
		extra_give(w, s);
		emse_session_release(&w->sessions, s);
		goto out;
	}
	w->stats.hs_started++;
	feed_handshake(w, s, data, len);
out:
	rte_pktmbuf_free(m);
}
