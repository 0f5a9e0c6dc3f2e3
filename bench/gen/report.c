/* The run's results: a progress line per interval, then a table on stdout and (--json) the same
 * as JSON, with the server's telemetry before, after and the difference. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "gen.h"

void report_progress(double t, const struct gen_counters *p, const struct gen_counters *c,
		     double dt, uint32_t active)
{
	fprintf(stderr,
		"[%6.1fs] hs/s %9.0f  started/s %9.0f  fail %llu  retx %llu  echo/s %9.0f  in-flight %u%s\n",
		t, (double)(c->handshakes - p->handshakes) / dt, (double)(c->started - p->started) / dt,
		(unsigned long long)c->failures, (unsigned long long)c->retransmits,
		(double)(c->dgram_echoed - p->dgram_echoed) / dt, active, G.measuring ? "" : "  (warm-up)");
}

/* after - before for every number in after, keeping the shape; NULL if nothing numeric. */
static json_t *json_diff(json_t *before, json_t *after)
{
	if (json_is_number(after)) {
		double b = json_is_number(before) ? json_number_value(before) : 0;
		double d = json_number_value(after) - b;
		return json_is_integer(after) ? json_integer((json_int_t)d) : json_real(d);
	}
	if (json_is_object(after)) {
		json_t *o = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(after, k, v) {
			json_t *d = json_diff(json_object_get(before, k), v);
			if (d)
				json_object_set_new(o, k, d);
		}
		if (json_object_size(o))
			return o;
		json_decref(o);
	}
	return NULL;
}

/* First number found under a key containing any of the names, depth first. */
static double json_find(json_t *j, const char *const *names, bool *found)
{
	const char *k;
	json_t *v;
	if (!json_is_object(j))
		return 0;
	json_object_foreach(j, k, v) {
		for (const char *const *n = names; *n; n++) {
			if (json_is_number(v) && strstr(k, *n)) {
				*found = true;
				return json_number_value(v);
			}
		}
	}
	json_object_foreach(j, k, v) {
		double d = json_find(v, names, found);
		if (*found)
			return d;
	}
	return 0;
}

static json_t *hist_json(const struct hist *h, double div)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->n,
			 "mean", h->n ? (double)h->sum / (double)h->n / div : 0.0,
			 "min", (double)h->min / div, "p50", (double)hist_quantile(h, 0.5) / div,
			 "p90", (double)hist_quantile(h, 0.9) / div, "p99", (double)hist_quantile(h, 0.99) / div,
			 "p99.9", (double)hist_quantile(h, 0.999) / div, "max", (double)h->max / div);
}

int report_final(double secs, void *tel_before, void *tel_after)
{
	const struct gen_counters *c = &G.c;
	const struct gen_config *cf = &G.cfg;
	double hs_rate = secs > 0 ? (double)c->handshakes / secs : 0;
	json_t *tb = tel_before, *ta = tel_after, *td = (tb && ta) ? json_diff(tb, ta) : NULL;
	/* emse's /emse/stats: hs_completed and busy_cycles are counters (use the delta), tsc_hz is
	 * a constant (use it as is); other servers may say busy seconds directly */
	static const char *const hs_names[] = { "hs_completed", "handshakes", NULL };
	static const char *const cyc_names[] = { "busy_cycles", NULL };
	static const char *const hz_names[] = { "tsc_hz", NULL };
	static const char *const busy_names[] = { "busy_core_seconds", "busy_seconds", NULL };
	bool f1 = false, f2 = false, f3 = false;
	double srv_hs = td ? json_find(td, hs_names, &f1) : 0;
	double srv_busy = td ? json_find(td, busy_names, &f2) : 0;
	static const char *const ns_names[] = { "busy_ns", NULL };
	if (td && !f2) {
		srv_busy = json_find(td, ns_names, &f2) / 1e9;
	}
	if (td && !f2) {
		double cyc = json_find(td, cyc_names, &f2);
		double hz = json_find(ta, hz_names, &f3);
		srv_busy = f2 && f3 && hz > 0 ? cyc / hz : 0;
	}
	double per_core = (f1 && f2 && srv_busy > 0) ? srv_hs / srv_busy : NAN;
	/* records: with many datagrams per session the busy time is mostly the record path */
	static const char *const rec_names[] = { "app_rx", NULL };
	bool f4 = false;
	double srv_rec = td ? json_find(td, rec_names, &f4) : 0;
	double rec_per_core = (f4 && f2 && srv_busy > 0 && srv_rec > 0) ? srv_rec / srv_busy : NAN;

	printf("\n== emse-bench %s: %s, suite %s, %s %g, %u datagrams of %u B, %.1f s measured ==\n",
	       cf->label ? cf->label : "", cf->rate > 0 ? "open loop" : "closed loop", cf->suite,
	       cf->rate > 0 ? "rate" : "concurrency", cf->rate > 0 ? cf->rate : (double)cf->concurrency,
	       cf->datagrams, cf->size, secs);
	printf("%-28s %14.0f\n", "handshakes/s", hs_rate);
	printf("%-28s %14llu\n", "handshakes", (unsigned long long)c->handshakes);
	printf("%-28s %14llu\n", "started", (unsigned long long)c->started);
	printf("%-28s %14llu\n", "failures", (unsigned long long)c->failures);
	for (unsigned i = 0; i < G.fails.n; i++)
		printf("  %-26s %14llu\n", G.fails.r[i].name, (unsigned long long)G.fails.r[i].count);
	printf("%-28s %14llu\n", "retransmissions", (unsigned long long)c->retransmits);
	printf("%-28s %14llu\n", "HelloVerifyRequests", (unsigned long long)c->hvr);
	if (cf->resume)
		printf("%-28s %14llu\n", "resumed handshakes", (unsigned long long)c->resumed);
	if (cf->rate > 0)
		printf("%-28s %14llu\n", "starts skipped (cap)", (unsigned long long)c->skipped_starts);
	if (cf->reload_keys > 0)
		printf("%-28s %14llu\n", "population reloads", (unsigned long long)c->reloads);
	if (cf->spoof_rate > 0)
		printf("%-28s %14llu (%.0f/s), %llu answered (whole run)\n", "spoofed ClientHellos",
		       (unsigned long long)c->spoof_sent, secs > 0 ? c->spoof_sent / secs : 0,
		       (unsigned long long)G.all.spoof_replies);
	printf("%-28s %8.1f %8.1f %8.1f %8.1f %8.1f\n", "handshake us p50/90/99/99.9/max",
	       hist_quantile(&G.hs_lat, 0.5) / 1e3, hist_quantile(&G.hs_lat, 0.9) / 1e3,
	       hist_quantile(&G.hs_lat, 0.99) / 1e3, hist_quantile(&G.hs_lat, 0.999) / 1e3,
	       G.hs_lat.max / 1e3);
	if (cf->datagrams) {
		printf("%-28s %14llu / %llu (lost %llu)\n", "datagram round trips",
		       (unsigned long long)c->dgram_echoed, (unsigned long long)c->dgram_sent,
		       (unsigned long long)c->dgram_lost);
		printf("%-28s %14.0f\n", "round trips/s", secs > 0 ? c->dgram_echoed / secs : 0);
		if (own_records())
			printf("%-28s %14llu opened and equal, %llu bad\n",
			       cf->verify_all ? "echoes verified" : "first echo per session",
			       (unsigned long long)c->echo_verified, (unsigned long long)c->echo_bad);
		printf("%-28s %8.1f %8.1f %8.1f %8.1f %8.1f\n", "round trip us p50/90/99/99.9/max",
		       hist_quantile(&G.rtt, 0.5) / 1e3, hist_quantile(&G.rtt, 0.9) / 1e3,
		       hist_quantile(&G.rtt, 0.99) / 1e3, hist_quantile(&G.rtt, 0.999) / 1e3,
		       G.rtt.max / 1e3);
	}
	printf("%-28s %llu rx, %llu tx, %llu tx drops, %llu unmatched, %llu net drops\n", "packets (whole run)",
	       (unsigned long long)G.all.rx_pkts, (unsigned long long)G.all.tx_pkts,
	       (unsigned long long)G.all.tx_drops, (unsigned long long)G.all.rx_unmatched,
	       (unsigned long long)G.all.rx_drop_net);
	double busy = G.loop_cycles ? (double)G.busy_cycles / (double)G.loop_cycles : 0;
	printf("%-28s %13.1f%%\n", "generator busy", 100 * busy);
	printf("%-28s %13.1f%%%s\n", "generator CPU share", 100 * G.cpu_share,
	       G.cpu_share < 0.9 ? "  (the machine was shared: noisy)" : "");
	/* the generator's own cost per handshake: what caps it on one lcore */
	double gen_us = c->handshakes ? (double)G.busy_cycles / (double)G.hz / (double)c->handshakes * 1e6 : 0;
	printf("%-28s %14.1f\n", "generator busy us/handshake", gen_us);
	if (cf->native)
		printf("%-28s %s, %llu sessions with a CID, %llu rebinds\n", "client", cf->cid ?
		       "own handshake client, --cid" : "own handshake client", (unsigned long long)c->cid_sessions,
		       (unsigned long long)c->rebinds);
	else
		printf("%-28s %llu created, %llu reused\n", "client objects", (unsigned long long)G.all.created,
		       (unsigned long long)G.all.reused);
	if (td) {
		if (!isnan(per_core))
			printf("%-28s %14.0f\n", "server hs/busy core-s", per_core);
		if (!isnan(rec_per_core))
			printf("%-28s %14.0f\n", "server records/busy core-s", rec_per_core);
		char *s = json_dumps(td, JSON_COMPACT);
		printf("%-28s %s\n", "server telemetry delta", s ? s : "");
		free(s);
	}

	int rc = 0;
	if (cf->json) {
		json_t *fails = json_object();
		for (unsigned i = 0; i < G.fails.n; i++)
			json_object_set_new(fails, G.fails.r[i].name, json_integer((json_int_t)G.fails.r[i].count));
		if (G.fails.other)
			json_object_set_new(fails, "other", json_integer((json_int_t)G.fails.other));
		json_t *j = json_pack(
			"{s:s, s:s, s:s, s:I, s:f, s:I, s:I, s:f, s:f, "
			"s:f, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I}",
			"label", cf->label ? cf->label : "", "mode", cf->rate > 0 ? "open" : "closed",
			"suite", cf->suite, "concurrency", (json_int_t)cf->concurrency, "rate", cf->rate,
			"datagrams", (json_int_t)cf->datagrams, "size", (json_int_t)cf->size,
			"seconds", secs, "warmup", cf->warmup, "handshakes_per_s", hs_rate,
			"handshakes", (json_int_t)c->handshakes, "started", (json_int_t)c->started,
			"failures", (json_int_t)c->failures, "failure_reasons", fails,
			"retransmissions", (json_int_t)c->retransmits, "hello_verify_requests", (json_int_t)c->hvr,
			"dgram_sent", (json_int_t)c->dgram_sent, "dgram_echoed", (json_int_t)c->dgram_echoed,
			"dgram_lost", (json_int_t)c->dgram_lost, "handshake_latency_us", hist_json(&G.hs_lat, 1e3),
			"rtt_us", hist_json(&G.rtt, 1e3), "skipped_starts", (json_int_t)c->skipped_starts,
			"tx_drops", (json_int_t)G.all.tx_drops, "population", (json_int_t)G.pop.n,
			"ue_addresses", (json_int_t)cf->ue_addrs);
		if (j)
			json_object_set_new(j, "generator_busy", json_real(busy));
		if (j && cf->resume)
			json_object_set_new(j, "resumed", json_integer((json_int_t)c->resumed));
		if (j)
			json_object_set_new(j, "generator_cpu_share", json_real(G.cpu_share));
		if (j && cf->native) {
			json_object_set_new(j, "client", json_string("own"));
			json_object_set_new(j, "cid", json_string(cf->cid == HSC_CID_ON ? "on" : cf->cid ? "empty" : "off"));
			json_object_set_new(j, "cid_sessions", json_integer((json_int_t)c->cid_sessions));
		}
		if (j && cf->rebind_every) {
			json_object_set_new(j, "rebind_every", json_integer((json_int_t)cf->rebind_every));
			json_object_set_new(j, "rebinds", json_integer((json_int_t)c->rebinds));
		}
		if (j && own_records()) {
			json_object_set_new(j, "blast", json_true());
			json_object_set_new(j, "echo_verified", json_integer((json_int_t)c->echo_verified));
			json_object_set_new(j, "echo_bad", json_integer((json_int_t)c->echo_bad));
		}
		if (j && cf->reload_keys > 0)
			json_object_set_new(j, "population_reloads", json_integer((json_int_t)c->reloads));
		if (j && cf->spoof_rate > 0)
			json_object_set_new(j, "spoofed_client_hellos", json_integer((json_int_t)c->spoof_sent));
		if (j)
			json_object_set_new(j, "generator_busy_us_per_handshake", json_real(gen_us));
		if (j && tb)
			json_object_set(j, "server_telemetry_before", tb);
		if (j && ta)
			json_object_set(j, "server_telemetry_after", ta);
		if (j && td)
			json_object_set(j, "server_telemetry_delta", td);
		if (j && !isnan(per_core))
			json_object_set_new(j, "server_handshakes_per_busy_core_s", json_real(per_core));
		if (j && !isnan(rec_per_core))
			json_object_set_new(j, "server_records_in_per_busy_core_s", json_real(rec_per_core));
		if (!j || json_dump_file(j, cf->json, JSON_INDENT(1)) != 0) {
			fprintf(stderr, "--json %s: write failed\n", cf->json);
			rc = -1;
		}
		json_decref(j);
	}
	if (cf->cdf) {
		FILE *f = fopen(cf->cdf, "w");
		if (f) {
			fprintf(f, "# handshake latency CDF: microseconds, fraction\n");
			hist_write_cdf(&G.hs_lat, f, 1e3);
			fclose(f);
		} else {
			fprintf(stderr, "--cdf %s: cannot write\n", cf->cdf);
			rc = -1;
		}
	}
	json_decref(td);
	return rc;
}
