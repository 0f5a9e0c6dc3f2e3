/* The control plane's counters as (name, label, value) for DPDK telemetry and Prometheus: one
 * walk, so the two outputs never disagree on names. */
#include <stdio.h>

#include "emse/control_plane.h"

static void hist(const uint64_t h[EMSE_LAT_BUCKETS], uint64_t sum, const char *base,
		 emse_control_emit_fn emit, void *ctx)
{
	char name[64], le[16];
	uint64_t cum = 0;
	snprintf(name, sizeof(name), "%s_bucket", base);
	for (unsigned b = 0; b < EMSE_LAT_BUCKETS; b++) {
		cum += h[b];
		if (b < EMSE_LAT_BUCKETS - 1)
			snprintf(le, sizeof(le), "%u", emse_lat_bucket_ms[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		/* Emitted as gauges: a counter would get a _total suffix after _bucket. */
		emit(ctx, name, "le", le, cum, 0);
	}
	snprintf(name, sizeof(name), "%s_count", base);
	emit(ctx, name, NULL, NULL, cum, 0);
	snprintf(name, sizeof(name), "%s_sum", base);
	emit(ctx, name, NULL, NULL, sum, 0);
}

void emse_control_stats_walk(const struct emse_control_stats *s, emse_control_emit_fn emit,
			     void *ctx)
{
	for (unsigned e = 0; e < s->n_emse && e < EMSE_MAX_EMSE; e++) {
		const char *id = s->emse[e].emse_id;
		const struct emse_keycache_stats *k = &s->emse[e].cache;
		emit(ctx, "keycache_entries", "emse_id", id, k->entries, 0);
		emit(ctx, "keycache_negative_entries", "emse_id", id, k->negative_entries, 0);
		emit(ctx, "keycache_hits", "emse_id", id, k->hits, 1);
		emit(ctx, "keycache_misses", "emse_id", id, k->misses, 1);
		emit(ctx, "keycache_negative_hits", "emse_id", id, k->negative_hits, 1);
		emit(ctx, "keycache_expired", "emse_id", id, k->expired, 1);
		emit(ctx, "keycache_inserts", "emse_id", id, k->inserts, 1);
		emit(ctx, "keycache_evictions", "emse_id", id, k->evictions, 1);
		emit(ctx, "keycache_frees_deferred", "emse_id", id, k->frees_deferred, 1);
		emit(ctx, "keycache_frees_reclaimed", "emse_id", id, k->frees_reclaimed, 1);
		emit(ctx, "keycache_defer_pending", "emse_id", id, k->defer_pending, 0);
		emit(ctx, "keycache_put_failures", "emse_id", id, k->put_failures, 1);
		emit(ctx, "keycache_expired_dropped", "emse_id", id, k->expired_dropped, 1);
		emit(ctx, "keycache_pool_size", "emse_id", id, k->pool_size, 0);
	}
	emit(ctx, "keyreq_posted", NULL, NULL, s->posted, 1);
	emit(ctx, "keyreq_post_ring_full", NULL, NULL, s->post_ring_full, 1);
	emit(ctx, "keyreq_invalid", NULL, NULL, s->invalid, 1);
	emit(ctx, "keyreq_answered_from_cache", NULL, NULL, s->answered_from_cache, 1);
	emit(ctx, "keyreq_merged", NULL, NULL, s->merged, 1);
	emit(ctx, "keyreq_overload", "table", "inflight", s->overload_inflight, 1);
	emit(ctx, "keyreq_overload", "table", "waiters", s->overload_waiters, 1);
	emit(ctx, "key_fetches", NULL, NULL, s->fetches, 1);
	emit(ctx, "key_fetches_inflight", NULL, NULL, s->fetches_inflight, 0);
	emit(ctx, "key_waiters_inflight", NULL, NULL, s->waiters_inflight, 0);
	emit(ctx, "key_batches", NULL, NULL, s->batches, 1);
	emit(ctx, "key_batch_items", NULL, NULL, s->batch_items, 1);
	emit(ctx, "key_batch_submit_failures", NULL, NULL, s->batch_submit_failures, 1);
	for (unsigned st = 0; st < EMSE_FETCH__COUNT; st++) {
		const char *n = emse_fetch_status_name((enum emse_fetch_status)st);
		emit(ctx, "key_fetch_results", "status", n, s->results[st], 1);
		emit(ctx, "keyreq_completions", "status", n, s->completions[st], 1);
	}
	emit(ctx, "key_completion_ring_full", NULL, NULL, s->completion_ring_full, 1);
	emit(ctx, "key_completions_backlog", NULL, NULL, s->completions_backlog, 0);
	emit(ctx, "keycache_write_failures", NULL, NULL, s->cache_write_failures, 1);
	hist(s->fetch_latency_ms, s->fetch_latency_ms_sum, "key_fetch_latency_ms", emit, ctx);

	const struct emse_keyprov_stats *p = &s->prov;
	emit(ctx, "keyprov_info", "provider", s->prov_name, 1, 0);
	emit(ctx, "keyprov_batches", NULL, NULL, p->batches, 1);
	emit(ctx, "keyprov_items", NULL, NULL, p->items, 1);
	emit(ctx, "keyprov_requests", NULL, NULL, p->requests, 1);
	emit(ctx, "keyprov_retries", NULL, NULL, p->retries, 1);
	emit(ctx, "keyprov_rate_limited", NULL, NULL, p->rate_limited, 1);
	emit(ctx, "keyprov_responses_h2", NULL, NULL, p->responses_h2, 1);
	emit(ctx, "keyprov_item_results", "status", "ok", p->item_ok, 1);
	emit(ctx, "keyprov_item_results", "status", "no_key", p->item_no_key, 1);
	emit(ctx, "keyprov_item_results", "status", "forbidden", p->item_forbidden, 1);
	emit(ctx, "keyprov_item_results", "status", "error", p->item_error, 1);
	for (unsigned k = 0; k < EMSE_PERR__COUNT; k++)
		emit(ctx, "keyprov_errors", "kind", emse_keyprov_err_name((enum emse_keyprov_err)k),
		     p->errors[k], 1);
	hist(p->latency_ms, p->latency_ms_sum, "keyprov_latency_ms", emit, ctx);
	emit(ctx, "keyprov_inflight", NULL, NULL, p->inflight, 0);
	emit(ctx, "keyprov_breaker_state", NULL, NULL, p->breaker_state, 0);
	emit(ctx, "keyprov_breaker_opens", NULL, NULL, p->breaker_opens, 1);
	emit(ctx, "keyprov_breaker_rejects", NULL, NULL, p->breaker_rejects, 1);
	emit(ctx, "keyprov_emse_registered", NULL, NULL, p->emse_registered, 0);
	emit(ctx, "keyprov_emse_register_failures", NULL, NULL, p->emse_register_failures, 0);
	emit(ctx, "imsi_map_entries", NULL, NULL, s->imsi_map_entries, 0);
	emit(ctx, "imsi_translated", NULL, NULL, s->imsi_translated, 1);
	emit(ctx, "imsi_unmapped", NULL, NULL, s->imsi_unmapped, 1);
	emit(ctx, "imsi_map_reloads", NULL, NULL, s->imsi_map_reloads, 1);
	emit(ctx, "imsi_map_reload_failures", NULL, NULL, s->imsi_map_reload_failures, 1);
}
