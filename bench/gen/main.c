/* emse-bench: simulated UEs running DTLS 1.2 PSK handshakes against a server over a DPDK port.
 *   emse-bench <EAL args> -- <options>     (see usage())
 * One lcore does everything: wolfSSL client work is what limits it, so the loop keeps I/O in
 * bursts and scans timers once per millisecond rather than per packet. */
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include "emse/rng.h"
#include "gen.h"

struct gen G;
static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }
bool stop_requested(void) { return stop; }

static void usage(FILE *f)
{
	fprintf(f,
"usage: emse-bench <EAL args, e.g. --no-huge -m 512 --file-prefix gen --vdev net_memif0,...> -- \n"
"  population:  --keys FILE (emks-hss JSON lines or '<psk_identity> <64 hex>' lines) [--emse-id ID]\n"
"               [--reload-keys S: re-read FILE when it changes, e.g. emks-hss rotating keys]\n"
"               | --synthetic N [--seed S] --emse-id ID   [--dump-keys FILE: write a key file, exit]\n"
"  addressing:  --server-ip A (198.18.0.1) --server-port P (4433) [--server-mac MAC, else ARP,\n"
"               --arp-timeout S (5)]\n"
"               --gen-ip A (198.18.0.2: the UEs' gateway) --ue-net A (198.19.0.0) [--ue-addrs N]\n"
"               [--port-id N]\n"
"  load:        --suite ccm8|gcm|cbc  --concurrency C (64)  [--rate R/s: open loop, C = cap]\n"
"               --duration S (10) --warmup S (0) --timeout S (10) --drain S (1)\n"
"               --datagrams N (0) --size B (100) --window W (1: datagrams in flight per session)\n"
"               --dgram-timeout S (1) [--max-handshakes N] [--no-pool]\n"
"               [--blast: datagrams sealed by our own record layer, echoes counted (AEAD suites)\n"
"                [--verify-all: open and compare every echo, not only each session's first]]\n"
"               [--cid on|empty: UEs negotiate an RFC 9146 Connection ID (on: 4-octet CIDs both ways;\n"
"                empty: a zero-length one of their own) and send tls12_cid records; handshakes by\n"
"                emse-bench's own DTLS 1.2 client (wolfSSL 5.7.2 has no DTLS 1.2 CID), records by\n"
"                its own record layer as with --blast]\n"
"               [--native-client: that own handshake client without CID]\n"
"               [--rebind-every K: each UE moves to a new source port every K datagrams]\n"
"               [--spoof-rate R: also R ClientHellos/s from spoofed sources, a flood beside the load]\n"
"               [--hold: a finished session is not closed, just forgotten (no close_notify): the\n"
"                server keeps it; sessions spread round-robin over --ue-addrs; with --max-handshakes N\n"
"                the server ends up holding N established sessions]\n"
"               [--resume: each UE resumes the session of its last full handshake (session id,\n"
"                RFC 5246 7.3) when the server offered one; counted 'resumed']\n"
"               [--hold-file F: with --hold, each held session's flow and keys appended to F]\n"
"               [--resume-file F: no handshakes; the sessions of F (--hold-file) continue, each\n"
"                sending --datagrams records (needs --blast), C at a time; ends when all are done]\n"
"  output:      [--json FILE] [--cdf FILE] [--label L] [--progress S (1, 0: off)]\n"
"               [--server-telemetry SOCKET [--telemetry-cmd CMD (/emse/stats)]]\n"
"               [--ready-file F: created once the port is started, before resolving the server]\n");
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int parse_args(int argc, char **argv)
{
	struct gen_config *c = &G.cfg;
	const char *server_ip = "198.18.0.1", *gen_ip = NULL, *ue_net = NULL;
	c->server_port = 4433;
	c->suite = "ccm8";
	c->concurrency = 64;
	c->duration = 10;
	c->timeout = 10;
	c->drain = 1;
	c->size = 100;
	c->window = 1;
	c->dgram_timeout = 1;
	c->pool = true;
	c->progress = 1;
	c->arp_timeout = 5;
	c->telemetry_cmd = "/emse/stats";
	c->seed = 1;
	enum { O_KEYS = 256, O_EMSE, O_SYN, O_SEED, O_DUMP, O_SIP, O_SPORT, O_SMAC, O_GIP, O_UENET,
	       O_UEADDRS, O_PORTID, O_SUITE, O_CONC, O_RATE, O_DUR, O_WARM, O_TMO, O_DRAIN, O_DG,
	       O_SIZE, O_DGTMO, O_MAXHS, O_NOPOOL, O_JSON, O_CDF, O_LABEL, O_PROG, O_TEL, O_TELCMD, O_ARPTMO, O_SPOOF, O_RELOAD, O_WINDOW, O_BLAST, O_READY, O_VERIFY, O_HOLD, O_HOLDF, O_RESUMEF, O_RESUME,
	       O_CID, O_NATIVE, O_REBIND };
	static const struct option opts[] = {
		{ "keys", 1, 0, O_KEYS }, { "hss", 1, 0, O_KEYS }, { "emse-id", 1, 0, O_EMSE },
		{ "synthetic", 1, 0, O_SYN }, { "seed", 1, 0, O_SEED }, { "dump-keys", 1, 0, O_DUMP },
		{ "server-ip", 1, 0, O_SIP }, { "server-port", 1, 0, O_SPORT },
		{ "server-mac", 1, 0, O_SMAC }, { "gen-ip", 1, 0, O_GIP }, { "ue-net", 1, 0, O_UENET },
		{ "ue-addrs", 1, 0, O_UEADDRS }, { "port-id", 1, 0, O_PORTID }, { "suite", 1, 0, O_SUITE },
		{ "concurrency", 1, 0, O_CONC }, { "rate", 1, 0, O_RATE }, { "duration", 1, 0, O_DUR },
		{ "warmup", 1, 0, O_WARM }, { "timeout", 1, 0, O_TMO }, { "drain", 1, 0, O_DRAIN },
		{ "datagrams", 1, 0, O_DG }, { "size", 1, 0, O_SIZE }, { "dgram-timeout", 1, 0, O_DGTMO },
		{ "max-handshakes", 1, 0, O_MAXHS }, { "no-pool", 0, 0, O_NOPOOL },
		{ "json", 1, 0, O_JSON }, { "cdf", 1, 0, O_CDF }, { "label", 1, 0, O_LABEL },
		{ "progress", 1, 0, O_PROG }, { "server-telemetry", 1, 0, O_TEL },
		{ "telemetry-cmd", 1, 0, O_TELCMD }, { "arp-timeout", 1, 0, O_ARPTMO },
		{ "spoof-rate", 1, 0, O_SPOOF }, { "reload-keys", 1, 0, O_RELOAD },
		{ "window", 1, 0, O_WINDOW }, { "blast", 0, 0, O_BLAST }, { "verify-all", 0, 0, O_VERIFY },
		{ "ready-file", 1, 0, O_READY }, { "hold", 0, 0, O_HOLD },
		{ "hold-file", 1, 0, O_HOLDF }, { "resume-file", 1, 0, O_RESUMEF },
		{ "resume", 0, 0, O_RESUME },
		{ "cid", 1, 0, O_CID }, { "native-client", 0, 0, O_NATIVE }, { "rebind-every", 1, 0, O_REBIND }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case O_KEYS: c->keys = optarg; break;
		case O_EMSE: c->emse_id = optarg; break;
		case O_SYN: c->synthetic = strtoull(optarg, NULL, 0); break;
		case O_SEED: c->seed = strtoull(optarg, NULL, 0); break;
		case O_DUMP: c->dump_keys = optarg; break;
		case O_SIP: server_ip = optarg; break;
		case O_SPORT: c->server_port = (uint16_t)atoi(optarg); break;
		case O_SMAC:
			if (parse_mac(optarg, c->server_mac)) {
				fprintf(stderr, "--server-mac: aa:bb:cc:dd:ee:ff\n");
				return -1;
			}
			c->server_mac_set = true;
			break;
		case O_GIP: gen_ip = optarg; break;
		case O_UENET: ue_net = optarg; break;
		case O_UEADDRS: c->ue_addrs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_PORTID: c->port_id = (uint16_t)atoi(optarg); break;
		case O_SUITE: c->suite = optarg; break;
		case O_CONC: c->concurrency = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_RATE: c->rate = atof(optarg); break;
		case O_DUR: c->duration = atof(optarg); break;
		case O_WARM: c->warmup = atof(optarg); break;
		case O_TMO: c->timeout = atof(optarg); break;
		case O_DRAIN: c->drain = atof(optarg); break;
		case O_DG: c->datagrams = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_SIZE: c->size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_DGTMO: c->dgram_timeout = atof(optarg); break;
		case O_MAXHS: c->max_handshakes = strtoull(optarg, NULL, 0); break;
		case O_NOPOOL: c->pool = false; break;
		case O_JSON: c->json = optarg; break;
		case O_CDF: c->cdf = optarg; break;
		case O_LABEL: c->label = optarg; break;
		case O_PROG: c->progress = atof(optarg); break;
		case O_TEL: c->telemetry = optarg; break;
		case O_TELCMD: c->telemetry_cmd = optarg; break;
		case O_ARPTMO: c->arp_timeout = atof(optarg); break;
		case O_SPOOF: c->spoof_rate = atof(optarg); break;
		case O_RELOAD: c->reload_keys = atof(optarg); break;
		case O_WINDOW: c->window = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_BLAST: c->blast = true; break;
		case O_VERIFY: c->verify_all = true; break;
		case O_READY: c->ready_file = optarg; break;
		case O_HOLD: c->hold = true; break;
		case O_HOLDF: c->hold_file = optarg; break;
		case O_RESUMEF: c->resume_file = optarg; break;
		case O_RESUME: c->resume = true; break;
		case O_CID:
			if (!strcmp(optarg, "on"))
				c->cid = HSC_CID_ON;
			else if (!strcmp(optarg, "empty"))
				c->cid = HSC_CID_EMPTY;
			else {
				fprintf(stderr, "--cid %s: on or empty\n", optarg);
				return -1;
			}
			c->native = true;
			break;
		case O_NATIVE: c->native = true; break;
		case O_REBIND: c->rebind_every = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (emse_addr_parse(server_ip, &c->server_ip) != 0) {
		fprintf(stderr, "--server-ip %s: not an address\n", server_ip);
		return -1;
	}
	bool v6 = c->server_ip.family == 6;
	if (!gen_ip)
		gen_ip = v6 ? "2001:db8::2" : "198.18.0.2";
	if (!ue_net)
		ue_net = v6 ? "2001:db8:1::" : "198.19.0.0";
	if (emse_addr_parse(gen_ip, &c->gen_ip) || emse_addr_parse(ue_net, &c->ue_base) ||
	    c->gen_ip.family != c->server_ip.family || c->ue_base.family != c->server_ip.family) {
		fprintf(stderr, "--gen-ip / --ue-net: addresses of the server's family\n");
		return -1;
	}
	if ((c->hold_file && !c->hold) || (c->resume_file && !c->blast)) {
		fprintf(stderr, "--hold-file needs --hold, --resume-file needs --blast\n");
		return -1;
	}
	if (c->blast && (!c->datagrams || !strcmp(c->suite, "cbc"))) {
		fprintf(stderr, "--blast needs --datagrams N and an AEAD suite (ccm8, gcm)\n");
		return -1;
	}
	if (c->native && (c->resume || c->hold_file)) {
		fprintf(stderr, "--resume and --hold-file need wolfSSL's client (not --cid / --native-client)\n");
		return -1;
	}
	if (c->native && !strcmp(c->suite, "cbc")) {
		fprintf(stderr, "--cid / --native-client: an AEAD suite (ccm8, gcm)\n");
		return -1;
	}
	if (c->rebind_every && !own_records()) {
		fprintf(stderr, "--rebind-every needs --cid, --native-client or --blast (records of our own)\n");
		return -1;
	}
	if (c->concurrency == 0 || c->size > 1400 || (c->datagrams && c->size == 0) ||
	    c->window < 1 || c->window > DGRAM_WINDOW_MAX) {
		fprintf(stderr, "--concurrency >= 1, --size 1..1400, --window 1..%d\n", DGRAM_WINDOW_MAX);
		return -1;
	}
	return 0;
}

/* Key rotation: the UEs' new keys arrive as a new version of the --keys file (emks-hss writes it
 * through a rename); sessions already past their PSK callback keep the key they used. */
static void maybe_reload(void)
{
	static struct timespec last;
	struct stat st;
	if (stat(G.cfg.keys, &st) != 0)
		return;
	if (last.tv_sec == 0 && last.tv_nsec == 0) {
		last = st.st_mtim;
		return;
	}
	if (st.st_mtim.tv_sec == last.tv_sec && st.st_mtim.tv_nsec == last.tv_nsec)
		return;
	last = st.st_mtim;
	struct pop p = { 0 };
	if (pop_load_auto(&p, G.cfg.keys, G.cfg.emse_id) != 0 || p.n == 0) {
		fprintf(stderr, "reload of %s failed: keeping the current keys\n", G.cfg.keys);
		pop_free(&p);
		return;
	}
	pop_free(&G.pop);
	G.pop = p;
	if (G.next_ue >= G.pop.n)
		G.next_ue = 0;
	G.all.reloads++;
	if (G.measuring)
		G.c.reloads++;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void snapshot_progress(double t, struct gen_counters *prev, double dt)
{
	report_progress(t, prev, &G.all, dt, G.nactive);
	*prev = G.all;
}

int main(int argc, char **argv)
{
	/* EAL takes what precedes "--"; our options follow it */
	int sep = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	int eal_argc = sep ? sep : 1;
	if (parse_args(sep ? argc - sep : argc, sep ? argv + sep : argv) != 0)
		return 2;
	/* wolfSSL draws randomness from crypto/rng.c: make the linker take it from libcrypto.a */
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;

	if (G.cfg.keys && pop_load_auto(&G.pop, G.cfg.keys, G.cfg.emse_id) != 0)
		return 1;
	if (G.cfg.synthetic && pop_synthetic(&G.pop, G.cfg.synthetic, G.cfg.seed, G.cfg.emse_id) != 0)
		return 1;
	if (G.pop.n == 0) {
		fprintf(stderr, "no UEs: give --keys FILE or --synthetic N --emse-id ID\n");
		usage(stderr);
		return 2;
	}
	if (G.cfg.dump_keys)
		return pop_write_keyfile(&G.pop, G.cfg.dump_keys) == 0 ? 0 : 1;
	if (!G.cfg.ue_addrs)
		G.cfg.ue_addrs = G.pop.n < (1u << 16) ? (uint32_t)G.pop.n : 1u << 16;

	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "EAL initialisation failed\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	G.hz = rte_get_tsc_hz();
	int rc = 1;
	if (port_init() != 0 || sess_init() != 0 ||
	    (G.cfg.hold_file && sess_hold_open(G.cfg.hold_file) != 0) ||
	    (G.cfg.resume_file && sess_resume_load(G.cfg.resume_file) != 0))
		goto out;
	if (G.cfg.ready_file) {
		FILE *f = fopen(G.cfg.ready_file, "w");
		if (f)
			fclose(f);
	}
	if (port_resolve_server() != 0)
		goto out;
	if (G.cfg.spoof_rate > 0 && spoof_init() != 0)
		goto out;
	if (!G.cfg.quiet) {
		char a[64];
		emse_addr_format(&G.cfg.server_ip, a, sizeof(a));
		fprintf(stderr,
			"emse-bench: %zu UEs on %u addresses -> %s port %u (%02x:%02x:%02x:%02x:%02x:%02x), "
			"suite %s, %s %g, %.0f s%s\n",
			G.pop.n, G.cfg.ue_addrs, a, G.cfg.server_port, G.cfg.server_mac[0], G.cfg.server_mac[1],
			G.cfg.server_mac[2], G.cfg.server_mac[3], G.cfg.server_mac[4], G.cfg.server_mac[5],
			G.cfg.suite, G.cfg.rate > 0 ? "rate" : "concurrency",
			G.cfg.rate > 0 ? G.cfg.rate : (double)G.cfg.concurrency, G.cfg.duration,
			G.cfg.pool ? ", pooled client objects" : "");
	}

	json_t *tel_before = G.cfg.telemetry ? telemetry_query(G.cfg.telemetry, G.cfg.telemetry_cmd) : NULL;
	uint64_t hz = G.hz, t0 = rte_get_tsc_cycles();
	uint64_t t_meas = t0 + (uint64_t)(G.cfg.warmup * (double)hz);
	uint64_t t_end = t_meas + (uint64_t)(G.cfg.duration * (double)hz);
	uint64_t next_timer = t0, next_prog = G.cfg.progress > 0 ? t0 + (uint64_t)(G.cfg.progress * (double)hz) : UINT64_MAX;
	uint64_t ol_started = 0, spoofed = 0, last_prog = t0;
	uint64_t next_reload = G.cfg.reload_keys > 0 && G.cfg.keys ? t0 : UINT64_MAX;
	struct gen_counters prev = { 0 };
	G.measuring = G.cfg.warmup <= 0;
	/* A polling thread should get a whole CPU: less means the machine was shared (noisy run). */
	double cpu_at_meas = G.measuring ? thread_cpu_s() : 0;
	uint64_t now = t0;
	while (!stop) {
		now = rte_get_tsc_cycles();
		if (!G.measuring && now >= t_meas) {
			G.measuring = true;
			t_meas = now;
			cpu_at_meas = thread_cpu_s();
		}
		if (now >= t_end)
			break;
		/* busy = the iteration received, started or sent something */
		uint64_t work = G.all.started + G.all.tx_pkts + G.all.rx_pkts;
		port_poll(now);
		if (now >= next_timer) {
			sess_timers(now);
			next_timer = now + hz / 1000;
		}
		uint64_t budget = G.cfg.max_handshakes ? G.cfg.max_handshakes - G.all.started : 64;
		bool may_start = budget > 0 && !G.cfg.resume_file;
		if (G.cfg.resume_file) {
			for (unsigned k = 0; G.nactive < G.cfg.concurrency && k < 64; k++)
				if (sess_resume_next(now) != 0)
					break;
			if (G.next_held >= G.n_held && G.nactive == 0)
				break;
		}
		if (budget > 64)
			budget = 64;
		if (may_start && G.cfg.rate > 0) {
			uint64_t due = (uint64_t)((double)(now - t0) / (double)hz * G.cfg.rate);
			for (uint64_t k = 0; ol_started < due && k < budget; k++, ol_started++) {
				/* the start was due at t0 + k/R: open-loop latency counts from then */
				uint64_t due_at = t0 + (uint64_t)((double)ol_started / G.cfg.rate * (double)hz);
				if (sess_start(now, due_at) != 0) {
					G.all.skipped_starts++;
					if (G.measuring)
						G.c.skipped_starts++;
				}
			}
		} else if (may_start) {
			for (uint64_t k = 0; G.nactive < G.cfg.concurrency && k < budget; k++)
				if (sess_start(now, now) != 0)
					break;
		}
		if (G.cfg.spoof_rate > 0) {
			uint64_t due = (uint64_t)((double)(now - t0) / (double)hz * G.cfg.spoof_rate);
			uint32_t n = due - spoofed > 64 ? 64 : (uint32_t)(due - spoofed);
			spoof_send(n);
			spoofed += n;
		}
		port_flush();
		if (G.measuring) {
			uint64_t t = rte_get_tsc_cycles();
			G.loop_cycles += t - now;
			if (G.all.started + G.all.tx_pkts + G.all.rx_pkts != work)
				G.busy_cycles += t - now;
		}
		if (now >= next_reload) {
			maybe_reload();
			next_reload = now + (uint64_t)(G.cfg.reload_keys * (double)hz);
		}
		if (now >= next_prog) {
			snapshot_progress((double)(now - t0) / (double)hz, &prev,
					  (double)(now - last_prog) / (double)hz);
			last_prog = now;
			next_prog = now + (uint64_t)(G.cfg.progress * (double)hz);
		}
		if (G.cfg.max_handshakes && !may_start && G.nactive == 0)
			break;
	}
	double secs = (double)(now - t_meas) / (double)hz;
	if (secs < 0)
		secs = 0;
	if (secs > 0)
		G.cpu_share = (thread_cpu_s() - cpu_at_meas) / secs;
	/* The window is closed: what finishes later is not counted, but let sessions end cleanly so
	 * the server is not left holding them. */
	struct gen_counters measured = G.c;
	struct fail_table fails = G.fails;
	struct hist *lat_copy = malloc(2 * sizeof(struct hist));
	if (lat_copy) {
		lat_copy[0] = G.hs_lat;
		lat_copy[1] = G.rtt;
	}
	uint32_t in_flight = G.nactive;
	G.measuring = false;
	uint64_t drain_end = rte_get_tsc_cycles() + (uint64_t)(G.cfg.drain * (double)hz);
	while (G.nactive && !stop && (now = rte_get_tsc_cycles()) < drain_end) {
		port_poll(now);
		if (now >= next_timer) {
			sess_timers(now);
			next_timer = now + hz / 1000;
		}
		port_flush();
	}
	G.c = measured;
	G.fails = fails;
	if (lat_copy) {
		G.hs_lat = lat_copy[0];
		G.rtt = lat_copy[1];
		free(lat_copy);
	}
	json_t *tel_after = G.cfg.telemetry ? telemetry_query(G.cfg.telemetry, G.cfg.telemetry_cmd) : NULL;
	if (in_flight)
		fprintf(stderr, "%u sessions were in flight when the window closed\n", in_flight);
	rc = report_final(secs, tel_before, tel_after) == 0 ? 0 : 1;
	json_decref(tel_before);
	json_decref(tel_after);
out:
	sess_cleanup();
	/* stop polling first, then close, with the server off its port meanwhile (telemetry.c) */
	if (G.mp) {
		int server_port = G.cfg.telemetry ? telemetry_server_pause(G.cfg.telemetry) : -1;
		port_close();
		if (G.cfg.telemetry)
			telemetry_server_resume(G.cfg.telemetry, server_port);
	}
	pop_free(&G.pop);
	rte_eal_cleanup();
	return rc;
}
