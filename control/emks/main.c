/* emks: the reference E2M Key Server (SPEC.md section 4). Options in usage(); docs/emks.md. */
#include "emse/emks_api.h"
#include "emse/emks_server.h"
#include "emse/emks_store.h"
#include "emse/emks_wipe.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: emks --listen ADDR:PORT --cert PEM --key PEM --ca PEM --db PATH\n"
		"            [--keys-per-ue N (4)] [--expiry-s S (86400)] [--hss-cn CN (hss)]\n"
		"            [--rate-limit R (0: none)] [--max-streams N (100)] [--log-requests]\n"
		"            [--sync full|normal (full)] [--max-conns N (1024)]\n"
		"            [--imsi-emse EMSE_ID ...]\n"
		"  ADDR is 127.0.0.1, [::1] or any local address; port 0 picks a free port.\n"
		"  EMSE certificates: subject OU=emse, CN=<EMSE_Id>; HSS: CN=<--hss-cn>.\n"
		"  --rate-limit: EMSE requests per second beyond which the answer is 503 + Retry-After.\n"
		"  --imsi-emse: an EMSE (certificate CN) allowed to name UEs by imsi in retrieve\n"
		"      requests (it translates identities itself, SPEC.md 6); repeat for several.\n"
		"      Others get 403 IMSI_NOT_ALLOWED.\n");
}

static _Noreturn void bad(const char *opt, const char *why)
{
	fprintf(stderr, "emks: %s: %s\n", opt, why);
	exit(2);
}

static long long num(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		char why[96];
		snprintf(why, sizeof(why), "need an integer in %lld..%lld, got \"%s\"", lo, hi, s);
		bad(opt, why);
	}
	return v;
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, 0, 'l'},   {"cert", required_argument, 0, 'c'},
		{"key", required_argument, 0, 'k'},      {"ca", required_argument, 0, 'a'},
		{"db", required_argument, 0, 'd'},       {"keys-per-ue", required_argument, 0, 'n'},
		{"expiry-s", required_argument, 0, 'e'}, {"hss-cn", required_argument, 0, 'H'},
		{"rate-limit", required_argument, 0, 'r'}, {"max-streams", required_argument, 0, 's'},
		{"log-requests", no_argument, 0, 'L'},   {"sync", required_argument, 0, 'S'},
		{"max-conns", required_argument, 0, 'C'},   {"help", no_argument, 0, 'h'},
		{"imsi-emse", required_argument, 0, 'I'},
		{0, 0, 0, 0},
	};
	/* Each request allocates and frees a block above glibc's trim threshold, which then gives
	 * the heap top back to the kernel and faults it in again: measured 2.7 ms instead of 0.7 ms
	 * per push, mostly TLB flushes. Keep the heap (bounded by peak use) instead. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	/* First: OpenSSL refuses new allocators once it has allocated anything. */
	if (emks_wipe_install() != 0)
		fprintf(stderr, "emks: warning: OpenSSL's buffers will not be wiped on free\n");
	struct emks_server_config scfg = {.hss_cn = "hss", .max_streams = 100, .max_conns = 1024};
	struct emks_store_config stcfg = {.keys_per_ue = 4, .expiry_s = 86400};
	struct emks_api_config acfg = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': scfg.listen = optarg; break;
		case 'c': scfg.cert = optarg; break;
		case 'k': scfg.key = optarg; break;
		case 'a': scfg.ca = optarg; break;
		case 'd': stcfg.path = optarg; break;
		case 'n': stcfg.keys_per_ue = (unsigned)num("--keys-per-ue", optarg, 1, EMKS_KEYS_PER_UE_MAX); break;
		case 'e': stcfg.expiry_s = num("--expiry-s", optarg, 1, 10LL * 365 * 86400); break;
		case 'H':
			if (!*optarg || strlen(optarg) > 64)
				bad("--hss-cn", "need 1..64 characters");
			scfg.hss_cn = optarg;
			break;
		case 'r': acfg.rate_limit = (unsigned)num("--rate-limit", optarg, 0, 10000000); break;
		case 's': scfg.max_streams = (unsigned)num("--max-streams", optarg, 1, 10000); break;
		case 'L': scfg.log_requests = 1; break;
		case 'C': scfg.max_conns = (unsigned)num("--max-conns", optarg, 1, 1000000); break;
		case 'S':
			if (strcmp(optarg, "full") && strcmp(optarg, "normal"))
				bad("--sync", "need full or normal");
			stcfg.sync_normal = optarg[0] == 'n';
			break;
		case 'I':
			if (e2m_emse_id_check(optarg, strlen(optarg)) != 0)
				bad("--imsi-emse", "need an EMSE_Id of 1..64 octets of printable UTF-8");
			if (acfg.n_imsi_emse >= EMKS_IMSI_EMSE_MAX)
				bad("--imsi-emse", "too many (at most 64)");
			acfg.imsi_emse[acfg.n_imsi_emse++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default:
			bad(argv[optind - 1], "unknown option or missing value (see --help)");
		}
	}
	if (optind < argc)
		bad(argv[optind], "unexpected argument");
	if (!scfg.listen) bad("--listen", "required");
	if (!scfg.cert) bad("--cert", "required");
	if (!scfg.key) bad("--key", "required");
	if (!scfg.ca) bad("--ca", "required");
	if (!stcfg.path) bad("--db", "required");

	char err[512];
	struct emks_store *store = emks_store_open(&stcfg, err, sizeof(err));
	if (!store)
		bad("--db", err);
	struct emks_api api;
	acfg.store = store;
	emks_api_init(&api, &acfg);
	scfg.api = &api;

	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (!base) {
		fprintf(stderr, "emks: cannot create the event loop\n");
		return 1;
	}
	struct emks_server *srv = emks_server_new(base, &scfg, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "emks: %s\n", err);
		event_base_free(base);
		emks_store_close(store);
		return 2;
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);

	printf("emks: listening on %s (keys per UE %u, expiry %llds, db %s, sync %s)\n",
	       emks_server_address(srv), stcfg.keys_per_ue, (long long)stcfg.expiry_s, stcfg.path,
	       stcfg.sync_normal ? "normal" : "full");
	fflush(stdout);
	int rc = event_base_dispatch(base) < 0 ? 1 : 0;

	fprintf(stderr,
		"emks: exiting: %llu requests, %llu keys served, %llu no key, %llu forbidden, "
		"%llu bad, %llu overload, %llu errors\n",
		(unsigned long long)api.stats.requests, (unsigned long long)api.stats.keys_served,
		(unsigned long long)api.stats.no_key, (unsigned long long)api.stats.forbidden,
		(unsigned long long)api.stats.bad_request, (unsigned long long)api.stats.overload,
		(unsigned long long)api.stats.errors);
	fprintf(stderr,
		"emks: %llu by imsi (%llu refused), %llu register-emse, %llu without emseId, "
		"%llu hash key id collisions\n",
		(unsigned long long)api.stats.imsi_requests, (unsigned long long)api.stats.imsi_refused,
		(unsigned long long)api.stats.emse_registered,
		(unsigned long long)api.stats.emseid_omitted,
		(unsigned long long)emks_store_hash_collisions(store));
	const struct emks_server_stats *ss = emks_server_stats(srv);
	fprintf(stderr, "emks: %llu connections, %llu refused (--max-conns), %llu failed TLS "
		"handshakes, %llu without h2, %llu HTTP/2 protocol errors\n", ss->connections,
		ss->refused_conns, ss->tls_failures, ss->no_h2, ss->h2_errors);
	emks_server_free(srv);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	emks_store_close(store);
	return rc;
}
