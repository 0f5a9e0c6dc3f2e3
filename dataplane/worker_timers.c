/* The worker's timers (every TICK_US): handshake and parked deadlines, retransmissions of our
 * last flight, idle sessions, the wolfSSL pool's refill and the key cache's housekeeping. */
#include "worker_priv.h"

/* Our flight 2 is the only one the client answers with a flight of its own: resend it until the
 * ClientKeyExchange comes. After that the client's timer drives (it repeats its flight 3). */
static void retransmit_native(struct emse_worker *w, struct emse_session *s)
{
	struct emse_hs12 *h = &s->u.hs.x->n;
	if (h->phase != EMSE_HS12_WAIT_CKE && !(h->resumed && h->phase)) {
		s->u.hs.rtx_at = 0;
		return;
	}
	size_t n;
	const uint8_t *f = emse_hs12_flight(h, &n);
	send_datagram(w, &s->flow, f, n);
	w->stats.retransmits++;
	if (h->rtx < 6)
		h->rtx++;
	s->u.hs.rtx_at = w->now + (w->rt->hz << h->rtx);
}

void emse_worker_timers(struct emse_worker *w)
{
	struct emse_sessions *t = &w->sessions;
	struct emse_session *s;

	if (w->rt->cluster)
		emse_cfwd_tick(w); /* the peers' MACs, before a record needs them */
	/* One timeout for all handshakes: the list is in deadline order. */
	while ((s = emse_list_head(t, &t->hs)) && s->deadline <= w->now)
		hs_fail(w, s, s->state == EMSE_S_PARKED ? EMSE_HS_FAIL_PARKED_TIMEOUT
							: EMSE_HS_FAIL_TIMEOUT);
	/* Retransmissions and parked deadlines differ per session: a walk over the half-open ones,
	 * which half_open_max bounds. */
	for (s = emse_list_head(t, &t->hs); s;) {
		struct emse_session *next = emse_list_next(t, s);
		if (s->u.hs.rtx_at && s->u.hs.rtx_at <= w->now) {
			if (s->state == EMSE_S_PARKED) {
				hs_fail(w, s, EMSE_HS_FAIL_PARKED_TIMEOUT);
			} else if (s->u.hs.native) {
				retransmit_native(w, s);
			} else if (emse_dtls_retransmit(s->u.hs.ssl) != 0) {
				hs_fail(w, s, EMSE_HS_FAIL_TIMEOUT);
			} else {
				w->stats.retransmits++;
				s->u.hs.rtx_at = w->now +
					    (uint64_t)emse_dtls_timeout_s(s->u.hs.ssl) * w->rt->hz;
			}
		}
		s = next;
	}
	while ((s = emse_list_head(t, &t->est)) && s->deadline <= w->now)
		session_close(w, s, EMSE_CLOSE_IDLE, false);

	if (w->now >= w->cookie_next) {
		emse_cookie_rotate(&w->cookie, w->now);
		w->cookie_next = w->now + w->cookie_ticks;
	}
	w->stats.pool_refills += emse_dtls_pool_refill(&w->pool, 64);
	const struct emse_record_stats *rs = &w->rc.st;
	w->stats.rec_opened = rs->opened;
	w->stats.rec_sealed = rs->sealed;
	w->stats.rec_alerts = rs->alerts;
	w->stats.rec_retx = rs->retx;
	w->stats.flights_evicted = rs->flights_evicted;
	w->stats.keys_expanded = rs->keys_expanded;
	w->stats.resume_offered = w->resume.st.offered;
	w->stats.resume_accepted = w->resume.st.accepted;
	w->stats.resume_misses = w->resume.st.misses;
	w->stats.resume_evictions = w->resume.st.evictions;
	w->stats.resume_stored = w->resume.st.stored;
	memcpy(w->stats.rec_drop, rs->drops, sizeof(w->stats.rec_drop));
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		w->stats.cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	w->stats.busy_ns = emse_busy_ns(&w->stats, w->rt->hz);
	w->stats.sessions = t->max - t->n_free;
	w->stats.half_open = t->hs.n;
	w->stats.established = t->est.n;
	w->stats.parked = w->parked;
}
