/* A session's end in the worker: the per-handshake extras (parked datagrams, PSK) go back to their
 * table, a failed handshake is counted, an established session is closed (close_notify, keys
 * wiped, its forward port and identity released). */
#include "worker_priv.h"

struct emse_hs_extra *extra_take(struct emse_worker *w)
{
	if (!w->n_free_extra)
		return NULL;
	struct emse_hs_extra *x = &w->extras[w->free_extra[--w->n_free_extra]];
	memset(x, 0, sizeof(*x));
	return x;
}

/* Held datagrams go, the PSK is wiped, the slot returns. */
void extra_give(struct emse_worker *w, struct emse_session *s)
{
	struct emse_hs_extra *x = s->u.hs.x;
	if (!x)
		return;
	for (unsigned i = 0; i < s->u.hs.n_parked; i++)
		rte_pktmbuf_free(x->parked[i]);
	s->u.hs.n_parked = 0;
	e2m_wipe(x, sizeof(*x));
	w->free_extra[w->n_free_extra++] = (uint32_t)(x - w->extras);
	s->u.hs.x = NULL;
}

/* Ends a session that never got established. */
void hs_fail(struct emse_worker *w, struct emse_session *s, enum emse_hs_fail why)
{
	w->stats.hs_failed[why]++;
	if (s->state == EMSE_S_PARKED)
		w->parked--;
	extra_give(w, s);
	emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1, 0); /* NULL-safe: none for hs12.c */
	emse_session_release(&w->sessions, s);
}

void session_close(struct emse_worker *w, struct emse_session *s, enum emse_close why,
		   bool notify)
{
	w->stats.closed[why]++;
	emse_fwd_port_free(&w->fwd, s->fwd_port);
	s->fwd_port = 0;
	emse_idarena_drop(&w->ids, s->id_ref);
	s->id_ref = 0;
	if (s->state == EMSE_S_ESTABLISHED) {
		if (notify) {
			static const uint8_t cn[2] = {EMSE_REC_ALERT_WARNING, EMSE_REC_ALERT_CLOSE_NOTIFY};
			uint8_t rec[64];
			size_t n;
			if (emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_ALERT, s->peer_cid, cn,
						 2, rec, sizeof(rec), &n) == 0)
				send_datagram(w, &s->flow, rec, n);
		}
		if (s->u.rec.flags & EMSE_REC_F_CID)
			w->stats.cid_sessions--;
		emse_record_wipe(&w->rc, &s->u.rec);
	} else {
		if (notify)
			emse_dtls_shutdown(s->u.hs.ssl);
		emse_dtls_pool_put(&w->pool, s->u.hs.ssl, why == EMSE_CLOSE_ALERT, 1);
	}
	emse_session_release(&w->sessions, s);
}
