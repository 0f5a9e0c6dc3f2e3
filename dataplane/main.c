/* emse: EAL, configuration, control plane, port, workers; then the main lcore runs the control
 * plane until SIGINT/SIGTERM. Everything the packets see lives in worker.c and worker_*.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>

#include <pcap/pcap.h>

#include "emse/config.h"
#include "emse/control_plane.h"
#include "emse/dtls/dtls.h"
#include "emse/persist.h"
#include "emse/port.h"
#include "emse/rng.h"
#include "emse/telemetry.h"
#include "emse/worker.h"

static struct emse_runtime rt;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
	rt.stop = true;
}

static void on_save_signal(int sig)
{
	(void)sig;
	emse_persist_request();
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: emse [EAL options] -- --config FILE\n"
		"  --config FILE   listeners, port addresses, keys, limits (docs/config.md)\n"
		"  --check         load and validate the configuration, then exit\n"
		"  --replay OUT    replay mode (net_pcap port): the capture's clock, one worker, what\n"
		"                  emse sends written to OUT.pcap, exit at the end of the capture\n"
		"  --seed N        replay only: deterministic randoms and cookie secrets, so the same\n"
		"                  capture and config give a byte-identical OUT\n"
		"  --help          this text\n"
		"EAL options on this kind of machine: -l 0-1 --no-huge -m 512 --file-prefix emse\n"
		"  --vdev net_tap0,iface=emse0   (the main lcore runs the control plane, every\n"
		"  other lcore is a worker with its own RX/TX queue)\n");
}

static int die(int code, const char *what, const char *msg)
{
	fprintf(stderr, "emse: %s: %s\n", what, msg);
	return code;
}

/* What happened to each packet class: every counter that moved. */
static void print_counter(void *ctx, const char *name, const char *lk, const char *lv, uint64_t v,
			  int counter)
{
	(void)ctx, (void)counter;
	if (!v || strstr(name, "cycles") || strstr(name, "loops") || !strcmp(name, "cpu_ns"))
		return;
	if (lk)
		printf("  %-16s %-28s %lu\n", name, lv, (unsigned long)v);
	else
		printf("  %-45s %lu\n", name, (unsigned long)v);
}

static void emse_replay_report(const struct emse_worker_stats *sum)
{
	printf("emse: replay report\n");
	emse_stats_walk(sum, print_counter, NULL);
}

static struct emse_keyprov *make_provider(const struct emse_config *c, bool check_only, char *err,
					  size_t n)
{
	if (c->keys == EMSE_KEYS_FILE)
		return emse_keyprov_file_create(c->key_file, err, n);
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.base_url = c->emks_url;
	ec.ca_file = c->emks_ca;
	ec.request_timeout_ms = c->emks_timeout_ms;
	ec.max_requests_per_s = c->emks_max_requests_per_s;
	ec.register_emse = c->emks_register_emse && !check_only; /* --check changes nothing */
	for (unsigned i = 0; i < c->n_listeners; i++) {
		const struct emse_listener_conf *l = &c->listeners[i];
		bool seen = false;
		for (unsigned j = 0; j < ec.n_ids; j++)
			seen |= !strcmp(ec.ids[j].emse_id, l->emse_id);
		if (seen)
			continue;
		ec.ids[ec.n_ids].emse_id = l->emse_id;
		ec.ids[ec.n_ids].cert = l->emks_cert;
		ec.ids[ec.n_ids].key = l->emks_key;
		ec.n_ids++;
	}
	return emse_keyprov_emks_create(&ec, err, n);
}

int main(int argc, char **argv)
{
	static struct emse_config cfg;
	char err[512];
	const char *config_path = NULL;
	bool check_only = false;
	const char *replay_out = NULL;
	pcap_t *replay_pcap = NULL;

	int eal = rte_eal_init(argc, argv);
	if (eal < 0)
		return die(2, "EAL", "rte_eal_init failed (see the EAL messages above)");
	argc -= eal;
	argv += eal;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "replay", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'r':
			replay_out = optarg;
			break;
		case 's': {
			char *end;
			rt.seed = strtoull(optarg, &end, 0);
			if (!*optarg || *end)
				return die(2, "--seed", "expected a number");
			rt.seeded = true;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die(2, argv[optind], "unexpected argument");
	if (!config_path)
		return die(2, "--config", "missing (emse -- --help)");
	if (rt.seeded && !replay_out)
		return die(2, "--seed", "only in replay mode (--replay): live randoms must not be "
					"predictable");
	if (emse_config_load(config_path, &cfg, err, sizeof(err)) != 0)
		return die(2, "config", err);
	/* forwarding between nodes: the cluster key, with --check too; wiped at exit */
	static struct emse_cfwd cluster;
	if (cfg.cluster_port) {
		if (emse_cfwd_setup(&cluster, &cfg, rte_rdtsc(), rte_get_tsc_hz(), err,
				    sizeof(err)) != 0)
			return die(2, "config", err);
		rt.cluster = &cluster;
	}

	rt.cfg = &cfg;
	/* the persist key file, before anything is allocated, and with --check too */
	if (emse_persist_setup(&rt, err, sizeof(err)) != 0)
		return die(2, "config", err);
	rt.iface = cfg.iface;
	rt.hz = rte_get_tsc_hz();
	rt.tsc0 = rte_rdtsc();
	rt.unix0 = (uint64_t)time(NULL);
	rt.n_workers = rte_lcore_count() - 1;
	if (rt.n_workers == 0)
		return die(2, "EAL -l", "needs at least two lcores: the main one runs the control "
				       "plane, each other one a worker");
	if (rt.n_workers > EMSE_MAX_WORKERS)
		return die(2, "EAL -l", "too many worker lcores");
	if (replay_out) {
		if (rt.n_workers != 1)
			return die(2, "EAL -l", "replay mode runs one worker (-l 0-1)");
		rt.replay = true;
		rt.tsc0 = rt.unix0 = 0; /* unix time = the capture's time */
		rt.ts_offset = -1;
		rte_mbuf_dyn_rx_timestamp_register(&rt.ts_offset, &rt.ts_flag);
		replay_pcap = pcap_open_dead(DLT_EN10MB, 65535);
		rt.replay_out = replay_pcap ? pcap_dump_open(replay_pcap, replay_out) : NULL;
		if (!rt.replay_out)
			return die(2, "--replay", replay_pcap ? pcap_geterr(replay_pcap) : "cannot open");
	}
	if (rt.seeded) /* the cookie secrets and wolfSSL objects made below draw from it */
		emse_rng_seed_thread(rt.seed, 0);

	struct emse_imsi_map *imsi_map = NULL;
	if (cfg.translate_emse && !(imsi_map = emse_imsi_map_load(cfg.imsi_map, err, sizeof(err))))
		return die(2, "[keys] imsi_map", err);
	struct emse_keyprov *prov = make_provider(&cfg, check_only, err, sizeof(err));
	if (!prov)
		return die(2, cfg.keys == EMSE_KEYS_FILE ? "[keys] file" : "[emks]", err);
	/* RFC 9146 connection ids: the permutation key from [cluster] cid_key_file (restarts and
	 * cluster peers agree) or random; only the codec keeps it, wiped at exit (docs/cid.md) */
	static struct emse_cid_codec cid;
	bool any_cid = false;
	for (unsigned k = 0; k < cfg.n_listeners; k++)
		any_cid |= cfg.listeners[k].cid;
	if (any_cid) {
		uint8_t key[EMSE_CID_KEY_LEN];
		int r = cfg.cid_key_file[0] ? emse_cid_key_load(cfg.cid_key_file, key, err, sizeof(err))
					    : emse_random(key, sizeof(key));
		if (r == 0 && emse_cid_codec_init(&cid, key, cfg.node_id, cfg.max_sessions) != 0) {
			snprintf(err, sizeof(err), "the CID codec cannot be made");
			r = -1;
		}
		e2m_wipe(key, sizeof(key));
		if (r != 0)
			return die(2, "config", cfg.cid_key_file[0] || err[0] ? err : "no randomness");
		rt.cid = &cid;
	}
	if (check_only) {
		printf("emse: %s: configuration is valid (%u listeners, %u EMSE_Ids)\n", config_path,
		       cfg.n_listeners, cfg.n_emse);
		emse_cfwd_fini(&cluster);
		return 0;
	}

	struct emse_control_config cc;
	emse_control_config_default(&cc);
	cc.n_workers = rt.n_workers;
	cc.n_emse = cfg.n_emse;
	for (unsigned i = 0; i < cfg.n_listeners; i++)
		cc.emse_ids[cfg.listeners[i].emse_idx] = cfg.listeners[i].emse_id;
	cc.cache_capacity = cfg.key_cache_capacity;
	cc.negative_ttl_s = cfg.negative_ttl_s;
	cc.prov = prov;
	cc.imsi_map = imsi_map;
	cc.imsi_map_path = cfg.translate_emse ? cfg.imsi_map : NULL;
	if (imsi_map)
		printf("emse: [keys] translate = emse: %zu identities in %s\n",
		       emse_imsi_map_size(imsi_map), cfg.imsi_map);
	rt.control = emse_control_create(&cc, err, sizeof(err));
	if (!rt.control)
		return die(1, "control plane", err);
	rt.qsbr = emse_control_qsbr(rt.control);

	if (emse_dtls_global_init() != 0)
		return die(1, "wolfSSL", "wolfSSL_Init failed");
	int socket = rte_socket_id();
	for (unsigned i = 0; i < rt.n_workers; i++) {
		rt.workers[i] = emse_worker_create(&rt, i, socket);
		if (!rt.workers[i])
			return die(1, "worker", "cannot allocate its memory (raise EAL -m)");
	}
	if (emse_port_start(&rt, err, sizeof(err)) != 0)
		return die(2, "port", err);
	emse_persist_load(&rt); /* the port's MAC is known, the workers are not running yet */
	if (emse_telemetry_register(&rt) != 0)
		fprintf(stderr, "emse: telemetry: could not register /emse commands\n");
	if (emse_persist_telemetry_register() != 0)
		fprintf(stderr, "emse: telemetry: could not register /emse/persist commands\n");
	if (cfg.prometheus[0] && emse_prometheus_open(cfg.prometheus) != 0)
		return die(2, "[telemetry] prometheus", "cannot listen there (address:port)");

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR2, on_save_signal);
	signal(SIGPIPE, SIG_IGN); /* a scraper or EMKS that hangs up is an error return, not our end */

	unsigned i = 0, lcore;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		rt.workers[i]->lcore = lcore;
		rte_eal_remote_launch(emse_worker_main, rt.workers[i], lcore);
		i++;
	}
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", rt.iface.mac[0],
		 rt.iface.mac[1], rt.iface.mac[2], rt.iface.mac[3], rt.iface.mac[4],
		 rt.iface.mac[5]);
	for (unsigned l = 0; l < cfg.n_listeners; l++) {
		char a[64];
		emse_addr_format(&cfg.listeners[l].addr, a, sizeof(a));
		printf("emse: listener %s on %s port %u for EMSE_Id %s (%s)\n", cfg.listeners[l].name,
		       a, cfg.listeners[l].port, cfg.listeners[l].emse_id,
		       cfg.listeners[l].mode == EMSE_APP_ECHO ? "echo" : "forward");
	}
	if (cfg.resume_max) /* apart from the per-session budget (docs/persist.md) */
		printf("emse: resumption cache: %u entries of %zu B per worker (%.1f MiB each)\n",
		       cfg.resume_max, emse_resume_bytes(1),
		       (double)emse_resume_bytes(cfg.resume_max) / 1048576.0);
	printf("emse: running: %u workers, port %u mac %s\n", rt.n_workers, cfg.port_id, mac);
	fflush(stdout);

	/* The main lcore is the control plane: key fetches, telemetry scrapes. */
	while (!rt.stop) {
		if (rt.replay && rt.workers[0]->replay_done)
			rt.stop = true;
		unsigned work = emse_control_run_once(rt.control, emse_control_now_ms());
		emse_prometheus_serve(&rt);
		emse_persist_poll(&rt);
		emse_port_pause_expire(rte_get_tsc_cycles());
		if (!work)
			usleep(100);
	}

	/* Workers stop polling before the port closes (a memif peer must not see a half-closed
	 * port while polling). */
	rte_eal_mp_wait_lcore();
	struct emse_worker_stats sum;
	/* SIGTERM with [persist] file: saved from the stopped workers' tables, so nothing they
	 * received is missing from the file (docs/persist.md: the replay window). */
	bool saved = stop_signal == SIGTERM && !rt.replay && emse_persist_save_stopped(&rt) == 0;
	for (i = 0; i < rt.n_workers; i++) {
		rt.workers[i]->quiet_drain = saved;
		emse_worker_drain(rt.workers[i]);
	}
	emse_persist_fini(&rt);
	emse_stats_total(&rt, &sum);
	emse_port_stop(&rt);
	for (i = 0; i < rt.n_workers; i++)
		emse_worker_destroy(rt.workers[i]);
	emse_control_destroy(rt.control);
	emse_cid_codec_wipe(&cid);
	emse_cfwd_fini(&cluster);
	emse_prometheus_close();
	if (rt.replay) {
		pcap_dump_close(rt.replay_out);
		pcap_close(replay_pcap);
		emse_replay_report(&sum);
	}
	printf("emse: stopped: %lu handshakes completed of %lu started, rx %lu tx %lu packets\n",
	       (unsigned long)sum.hs_completed, (unsigned long)sum.hs_started, (unsigned long)sum.rx_pkts,
	       (unsigned long)sum.tx_pkts);
	rte_eal_cleanup();
	return 0;
}
