#include <stddef.h>

#include "emse/stats.h"
#include "emse/telemetry.h"

static const char *const dp_drop_names[EMSE_DP__COUNT] = {
	[EMSE_DP_NO_LISTENER] = "no_listener",
	[EMSE_DP_NOT_DTLS] = "not_dtls",
	[EMSE_DP_CH_MALFORMED] = "client_hello_malformed",
	[EMSE_DP_NOT_CLIENT_HELLO] = "not_client_hello",
	[EMSE_DP_HALF_OPEN_FULL] = "half_open_full",
	[EMSE_DP_SESSIONS_FULL] = "sessions_full",
	[EMSE_DP_SOURCE_FULL] = "source_sessions_full",
	[EMSE_DP_POOL_EMPTY] = "pool_empty",
	[EMSE_DP_PARKED_FULL] = "parked_full",
	[EMSE_DP_PARK_QUEUE_FULL] = "park_queue_full",
	[EMSE_DP_STEER_FULL] = "steer_ring_full",
	[EMSE_DP_TX_FULL] = "tx_full",
	[EMSE_DP_NO_MBUF] = "no_mbuf",
	[EMSE_DP_CONTROL_FULL] = "control_ring_full",
	[EMSE_DP_APP_TOO_BIG] = "app_too_big",
	[EMSE_DP_WOLFSSL_REJECT] = "record_rejected",
	[EMSE_DP_BACKEND_UNRESOLVED] = "backend_unresolved",
	[EMSE_DP_BACKEND_NO_SESSION] = "backend_no_session",
	[EMSE_DP_FWD_PORTS_FULL] = "forward_ports_full",
};

static const char *const hs_fail_names[EMSE_HS_FAIL__COUNT] = {
	[EMSE_HS_FAIL_TIMEOUT] = "timeout",
	[EMSE_HS_FAIL_NOT_E2M] = "not_e2m_identity",
	[EMSE_HS_FAIL_NO_KEY] = "no_key",
	[EMSE_HS_FAIL_KEY_FORBIDDEN] = "key_forbidden",
	[EMSE_HS_FAIL_KEY_UNAVAILABLE] = "key_unavailable",
	[EMSE_HS_FAIL_PARKED_TIMEOUT] = "parked_timeout",
	[EMSE_HS_FAIL_BAD_FINISHED] = "bad_finished",
	[EMSE_HS_FAIL_ALERT] = "client_alert",
	[EMSE_HS_FAIL_PROTOCOL] = "protocol_error",
};

static const char *const close_names[EMSE_CLOSE__COUNT] = {
	[EMSE_CLOSE_NOTIFY] = "close_notify",
	[EMSE_CLOSE_IDLE] = "idle",
	[EMSE_CLOSE_ALERT] = "alert",
	[EMSE_CLOSE_REPLACED] = "replaced",
	[EMSE_CLOSE_SHUTDOWN] = "shutdown",
};

static const char *const hs12_skip_names[EMSE_HS12_SKIP__COUNT] = {
	[EMSE_HS12_OK] = "none",
	[EMSE_HS12_SKIP_VERSION] = "version",
	[EMSE_HS12_SKIP_SUITE] = "suite",
	[EMSE_HS12_SKIP_EXTENSIONS] = "extensions",
	[EMSE_HS12_SKIP_COMPRESSION] = "compression",
	[EMSE_HS12_SKIP_ENGINE] = "engine_wolfssl",
};

const char *emse_hs12_skip_name(enum emse_hs12_skip k)
{
	return (unsigned)k < EMSE_HS12_SKIP__COUNT ? hs12_skip_names[k] : "?";
}

const char *emse_dp_drop_name(enum emse_dp_drop d)
{
	return (unsigned)d < EMSE_DP__COUNT ? dp_drop_names[d] : "?";
}

const char *emse_hs_fail_name(enum emse_hs_fail f)
{
	return (unsigned)f < EMSE_HS_FAIL__COUNT ? hs_fail_names[f] : "?";
}

const char *emse_close_name(enum emse_close c)
{
	return (unsigned)c < EMSE_CLOSE__COUNT ? close_names[c] : "?";
}

uint64_t emse_busy_ns(const struct emse_worker_stats *s, uint64_t hz)
{
	/* Two upper bounds of the busy CPU time; the smaller is the closer. Wall clock of the busy
	 * iterations is exact on a quiet machine but counts the turns others got mid-iteration;
	 * CPU time minus the idle polls is immune to that but, at a low packet rate, small errors
	 * in the idle cost add up over billions of idle polls. */
	double wall_ns = hz ? (double)s->busy_cycles * 1e9 / (double)hz : 0;
	if (!s->idle_clean_n || !hz)
		return s->cpu_ns && (double)s->cpu_ns < wall_ns ? s->cpu_ns : (uint64_t)wall_ns;
	double idle_ns = (double)s->idle_loops * (double)s->idle_clean_cycles /
			 (double)s->idle_clean_n * 1e9 / (double)hz;
	double cpu_busy = idle_ns >= (double)s->cpu_ns ? 0 : (double)s->cpu_ns - idle_ns;
	return (uint64_t)(cpu_busy < wall_ns ? cpu_busy : wall_ns);
}

void emse_stats_add(struct emse_worker_stats *sum, const struct emse_worker_stats *s)
{
	const uint64_t *a = (const uint64_t *)s;
	uint64_t *b = (uint64_t *)sum;
	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		b[i] += a[i];
}

/* One list of what we export, shared by DPDK telemetry and the Prometheus endpoint. */
void emse_stats_walk(const struct emse_worker_stats *s, emse_emit_fn emit, void *ctx)
{
#define C(n) emit(ctx, #n, NULL, NULL, s->n, 1)
#define G(n) emit(ctx, #n, NULL, NULL, s->n, 0)
	C(rx_pkts); C(rx_bytes); C(tx_pkts); C(tx_bytes);
	C(arp_replies); C(icmp_replies); C(steered_out); C(steered_in);
	C(hvr_sent); C(cookie_valid); C(cookie_invalid);
	C(hs_started); C(hs_completed); C(hs_native); C(retransmits);
	C(key_hits); C(key_misses); C(key_negative); C(key_requests); C(key_parked_resumed);
	C(app_rx); C(app_tx); C(app_rx_bytes); C(alerts_sent); C(pool_refills);
	C(fwd_tx); C(fwd_rx); C(arp_requests);
	C(compacted); C(kept_on_wolfssl); C(flight_not_held); C(id_arena_full);
	C(rec_opened); C(rec_sealed); C(rec_alerts); C(rec_retx); C(flights_evicted);
	C(keys_expanded);
	G(sessions); G(half_open); G(parked); G(established);
	C(busy_cycles); C(total_cycles); C(loops); C(idle_loops); C(cpu_ns); C(busy_ns);
	C(port_rx_cycles); C(port_tx_cycles);
	C(resume_offered); C(resume_accepted); C(resume_misses); C(resume_evictions);
	C(resume_stored);
	C(cid_offered); C(cid_negotiated); G(cid_sessions); C(cid_unknown); C(cid_addr_changes);
	C(cid_addr_refused);
	C(rx_csum_hw_good); C(rx_csum_hw_bad); C(rx_csum_sw); C(tx_csum_hw); C(tx_csum_sw);
	C(rss_owned);
	C(cid_decodes); C(cid_addr_taken);
	C(cluster_fwd_sent); C(cluster_fwd_no_peer); C(cluster_fwd_unresolved);
	C(cluster_fwd_received); C(cluster_fwd_bad_auth); C(cluster_fwd_stale);
	C(cluster_fwd_malformed); C(cluster_fwd_not_ours);
	C(nd_requests); C(nd_learnt);
#undef C
#undef G
	for (int i = 1; i < EMSE_DROP__COUNT; i++)
		emit(ctx, "net_drop", "reason", emse_drop_name((enum emse_drop_reason)i),
		     s->net_drop[i], 1);
	for (int i = 0; i < EMSE_DP__COUNT; i++)
		emit(ctx, "dp_drop", "reason", emse_dp_drop_name((enum emse_dp_drop)i), s->dp_drop[i],
		     1);
	for (int i = 0; i < EMSE_HS_FAIL__COUNT; i++)
		emit(ctx, "hs_failed", "reason", emse_hs_fail_name((enum emse_hs_fail)i),
		     s->hs_failed[i], 1);
	for (int i = 1; i < EMSE_HS12_SKIP__COUNT; i++)
		emit(ctx, "hs12_skip", "reason", emse_hs12_skip_name((enum emse_hs12_skip)i),
		     s->hs12_skip[i], 1);
	for (int i = 0; i < EMSE_REC_DROP_MAX; i++)
		emit(ctx, "record_drop", "reason", emse_rec_drop_names[i], s->rec_drop[i], 1);
	for (int i = 0; i < EMSE_REC_DROP_MAX; i++)
		emit(ctx, "cid_record_drop", "reason", emse_rec_drop_names[i], s->cid_rec_drop[i],
		     1);
	for (int i = 0; i < EMSE_CLOSE__COUNT; i++)
		emit(ctx, "closed", "reason", emse_close_name((enum emse_close)i), s->closed[i], 1);
}
