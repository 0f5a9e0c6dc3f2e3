/* The control plane with the EMKS provider against the real reference EMKS (build/emks, keys
 * pushed by build/emks-hss), over HTTP/2 with mutual TLS on 127.0.0.1: fetch OK (the key the HSS
 * predicts), a batch of mixed answers, 204 -> NO_KEY + negative entry, 403 -> FORBIDDEN, EMKS down
 * -> UNAVAILABLE and the breaker failing fast without a request, EMKS back -> OK again, and 503 +
 * Retry-After from a rate-limited EMKS honoured until the keys come. Skips (with a message) when
 * build/emks or build/emks-hss is not built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../eal_cleanup.h"

#include <jansson.h>
#include <dirent.h>
#include <limits.h>
#include <rte_eal.h>

#include "emse/control_plane.h"

static char root[4096], tmp[256], certs[512];
static int skip_all;
static pid_t emks_pid = -1;
static int emks_port;
static char url[128];

struct ue {
	char app_id[E2M_APP_ID_MAX + 1];
	uint32_t key_id;
	uint8_t key1[E2M_KEY_LEN], key2[E2M_KEY_LEN]; /* for emse-1, emse-2 */
	int has1, has2;
};
static struct ue ues[3];

static const char POPULATION[] =
	"001010000000001 465b5ce8b199b49faa5f0a2ee238a6bc cd63cb71954a9f4e48a5994e37a02baf "
	"sensor-1@acme.example emse-1,emse-2\n"
	"001010000000002 0396eb317b6d1c36f19c1c84cd6ffd16 53c15671c60a4b731c55b4a441c0bde2 "
	"sensor-2@acme.example emse-1\n"
	"001010000000003 fec86ba6eb707ed08905757b1bb44b8f 1006020f0a478bf6b699f15c062e42b3 "
	"sensor-3@acme.example emse-2\n";

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int find_root(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *b = strstr(exe, "/build/");
	if (!b)
		return -1;
	*b = '\0';
	snprintf(root, sizeof(root), "%s", exe);
	return 0;
}

/* Starts emks (on `port`, 0 = any) and waits until it says it listens. */
static int start_emks(int port, unsigned rate_limit)
{
	char out[512], listen[64], db[512], rl[16];
	snprintf(out, sizeof(out), "%s/emks.out", tmp);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(db, sizeof(db), "%s/emks.db", tmp);
	snprintf(rl, sizeof(rl), "%u", rate_limit);
	unlink(out);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* no emks left behind if the test dies */
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int er = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(er, 2);
		char bin[4200], cert[600], key[600], ca[600];
		snprintf(bin, sizeof(bin), "%s/emks", tmp);
		snprintf(cert, sizeof(cert), "%s/emks.pem", certs);
		snprintf(key, sizeof(key), "%s/emks.key", certs);
		snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
		execl(bin, bin, "--listen", listen, "--cert", cert, "--key", key, "--ca", ca, "--db", db,
		      "--expiry-s", "3600", "--rate-limit", rl, (char *)NULL);
		_exit(127);
	}
	emks_pid = pid;
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(out, "r");
		char line[256];
		if (f) {
			int p = 0;
			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "emks: listening on 127.0.0.1:%d", &p) == 1)
					break;
			fclose(f);
			if (p > 0) {
				emks_port = p;
				snprintf(url, sizeof(url), "https://127.0.0.1:%d", p);
				return 0;
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			emks_pid = -1;
			return -1;
		}
		sleep_ms(50);
	}
	return -1;
}

static void stop_emks(void)
{
	if (emks_pid > 0) {
		kill(emks_pid, SIGTERM);
		waitpid(emks_pid, NULL, 0);
		emks_pid = -1;
	}
}

static int load_ues(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/ue.jsonl", tmp);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, f) > 0 && n < 3) {
		json_t *o = json_loads(line, 0, NULL);
		if (!o)
			break;
		struct ue *u = &ues[n++];
		snprintf(u->app_id, sizeof(u->app_id), "%s", json_string_value(json_object_get(o, "app_id")));
		u->key_id = (uint32_t)strtoul(json_string_value(json_object_get(o, "key_id")), NULL, 16);
		json_t *em = json_object_get(o, "emse");
		json_t *e1 = json_object_get(json_object_get(em, "emse-1"), "e2m_key");
		json_t *e2 = json_object_get(json_object_get(em, "emse-2"), "e2m_key");
		u->has1 = e1 && e2m_hex_decode(json_string_value(e1), u->key1, E2M_KEY_LEN) == 0;
		u->has2 = e2 && e2m_hex_decode(json_string_value(e2), u->key2, E2M_KEY_LEN) == 0;
		json_decref(o);
	}
	free(line);
	fclose(f);
	return n == 3 ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	if (find_root() != 0)
		return -1;
	char emks[4200], hss[4200];
	snprintf(emks, sizeof(emks), "%s/build/emks", root);
	snprintf(hss, sizeof(hss), "%s/build/emks-hss", root);
	if (access(emks, X_OK) != 0 || access(hss, X_OK) != 0) {
		print_message("SKIP: build/emks or build/emks-hss is not built (make build/emks "
			      "build/emks-hss): the EMKS tests do not run\n");
		skip_all = 1;
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/emse-ctl-emks.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(certs, sizeof(certs), "%s/certs", tmp);
	char cmd[9000];
	/* Our own copies: the shared build/ may be relinked by someone else while we run. */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' '%s/'", emks, hss, tmp);
	if (system(cmd) != 0)
		return -1;
	snprintf(hss, sizeof(hss), "%s/emks-hss", tmp);
	snprintf(cmd, sizeof(cmd), "'%s/tools/make-certs.sh' '%s' emse-1 emse-2 >/dev/null 2>&1",
		 root, certs);
	if (system(cmd) != 0) {
		print_error("make-certs.sh failed\n");
		return -1;
	}
	char pop[512];
	snprintf(pop, sizeof(pop), "%s/population", tmp);
	FILE *f = fopen(pop, "w");
	if (!f)
		return -1;
	fputs(POPULATION, f);
	fclose(f);
	if (start_emks(0, 0) != 0) {
		print_error("emks did not start\n");
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
		 "'%s' --population '%s' --emks '%s' --cert '%s/hss.pem' --key '%s/hss.key' "
		 "--ca '%s/ca.pem' --out '%s/ue.jsonl' >'%s/hss.out' 2>&1",
		 hss, pop, url, certs, certs, certs, tmp, tmp);
	if (system(cmd) != 0 || load_ues() != 0) {
		print_error("emks-hss failed (see %s/hss.out)\n", tmp);
		stop_emks();
		return -1;
	}
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test_kp_emks_%d", (int)getpid());
	char *argv[] = {"test_keyprov_emks", "-l", "0", "--no-huge", "-m", "256", "--no-pci",
			"--file-prefix", prefix, "--log-level=lib.eal:error", NULL};
	if (rte_eal_init(10, argv) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (skip_all)
		return 0;
	stop_emks();
	eal_cleanup_all();
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* cert_of[i]: whose certificate EMSE i presents (normally its own); ca_dir: whose CA it trusts;
 * to: the EMKS URL. NULL means the defaults. */
static struct emse_control *make_with(const struct emse_emks_config *overrides, unsigned batch_max,
				      const char *const cert_of[2], const char *ca_dir, const char *to)
{
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	if (overrides)
		ec = *overrides;
	/* The machine is shared and the tests may run under ASan: where a test is not about
	 * timeouts, the production timeouts (tight, for loopback) become generous ones. */
	struct emse_emks_config def;
	emse_emks_config_default(&def);
	if (ec.connect_timeout_ms == def.connect_timeout_ms)
		ec.connect_timeout_ms = 5000;
	if (ec.request_timeout_ms == def.request_timeout_ms)
		ec.request_timeout_ms = 5000;
	if (ec.deadline_ms == def.deadline_ms)
		ec.deadline_ms = 15000;
	static char cert[2][600], key[2][600], ca[600];
	snprintf(ca, sizeof(ca), "%s/ca.pem", ca_dir ? ca_dir : certs);
	const char *ids[2] = {"emse-1", "emse-2"};
	for (int i = 0; i < 2; i++) {
		const char *who = cert_of ? cert_of[i] : ids[i];
		snprintf(cert[i], sizeof(cert[i]), "%s/emse/%s.pem", certs, who);
		snprintf(key[i], sizeof(key[i]), "%s/emse/%s.key", certs, who);
		ec.ids[i] = (struct emse_emks_identity){.emse_id = ids[i], .cert = cert[i], .key = key[i]};
	}
	ec.n_ids = 2;
	ec.base_url = to ? to : url;
	ec.ca_file = ca;
	char err[128] = "";
	struct emse_keyprov *p = emse_keyprov_emks_create(&ec, err, sizeof(err));
	if (!p)
		print_error("%s\n", err);
	assert_non_null(p);
	struct emse_control_config cfg;
	emse_control_config_default(&cfg);
	cfg.n_workers = 1;
	cfg.n_emse = 2;
	cfg.emse_ids[0] = "emse-1";
	cfg.emse_ids[1] = "emse-2";
	cfg.cache_capacity = 1024;
	cfg.batch_max = batch_max;
	cfg.prov = p;
	struct emse_control *c = emse_control_create(&cfg, err, sizeof(err));
	if (!c)
		print_error("%s\n", err);
	assert_non_null(c);
	return c;
}

static struct emse_control *make(const struct emse_emks_config *overrides, unsigned batch_max)
{
	return make_with(overrides, batch_max, NULL, NULL, NULL);
}

static void post(struct emse_control *c, uint64_t token, unsigned emse, uint32_t key_id,
		 const char *app)
{
	struct emse_key_request r;
	memset(&r, 0, sizeof(r));
	r.token = token;
	r.emse_idx = (uint16_t)emse;
	r.key_id = key_id;
	r.app_id_len = (uint8_t)strlen(app);
	memcpy(r.app_id, app, r.app_id_len);
	assert_int_equal(emse_control_post(c, &r), 0);
}

/* Runs the control loop until n completions arrived; out[] indexed by token. A liveness guard
 * (30 s) ends a hung run with a failure; nothing is asserted about how long it took. */
static void run_until(struct emse_control *c, unsigned n, uint32_t status_by_token[])
{
	unsigned got = 0;
	uint64_t give_up = emse_control_now_ms() + 30000;
	while (got < n) {
		if (emse_control_run_once(c, emse_control_now_ms()) == 0)
			sleep_ms(0);
		struct emse_key_completion cp[16];
		unsigned k = emse_control_poll(c, 0, cp, 16);
		for (unsigned i = 0; i < k; i++) {
			assert_true(cp[i].token < 64);
			status_by_token[cp[i].token] = cp[i].status;
		}
		got += k;
		if (emse_control_now_ms() > give_up)
			fail_msg("no answer from the control plane (%u of %u)", got, n);
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
}

static void test_fetch_ok_and_batch(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	struct emse_control *c = make(NULL, 256);
	uint32_t st[64];
	memset(st, 0xff, sizeof(st));
	/* One batch per EMSE: UE1 and UE2 for emse-1, UE1 and UE3 for emse-2, plus a 204 and a 403. */
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	post(c, 2, 0, ues[1].key_id, ues[1].app_id);
	post(c, 3, 0, 0x00000000, ues[0].app_id);       /* no such key id: 204 */
	post(c, 4, 0, ues[2].key_id, ues[2].app_id);    /* UE3 does not allow emse-1: 403 */
	post(c, 5, 1, ues[0].key_id, ues[0].app_id);
	post(c, 6, 1, ues[2].key_id, ues[2].app_id);
	post(c, 7, 0, ues[0].key_id, ues[0].app_id);    /* merged with token 1 */
	run_until(c, 7, st);
	assert_int_equal(st[1], EMSE_FETCH_OK);
	assert_int_equal(st[2], EMSE_FETCH_OK);
	assert_int_equal(st[3], EMSE_FETCH_NO_KEY);
	assert_int_equal(st[4], EMSE_FETCH_FORBIDDEN);
	assert_int_equal(st[5], EMSE_FETCH_OK);
	assert_int_equal(st[6], EMSE_FETCH_OK);
	assert_int_equal(st[7], EMSE_FETCH_OK);

	uint64_t now = emse_control_now_ms() / 1000;
	uint8_t key[E2M_KEY_LEN];
	struct emse_keycache *k1 = emse_control_cache(c, 0), *k2 = emse_control_cache(c, 1);
	const struct ue *u = &ues[0];
	assert_int_equal(emse_keycache_lookup(k1, 0, u->key_id, u->app_id, (uint8_t)strlen(u->app_id),
					      now, key),
			 EMSE_KC_HIT);
	assert_true(u->has1 && u->has2);
	assert_memory_equal(key, u->key1, E2M_KEY_LEN);
	assert_int_equal(emse_keycache_lookup(k2, 0, u->key_id, u->app_id, (uint8_t)strlen(u->app_id),
					      now, key),
			 EMSE_KC_HIT);
	assert_memory_equal(key, u->key2, E2M_KEY_LEN);
	assert_memory_not_equal(u->key1, u->key2, E2M_KEY_LEN);
	assert_int_equal(emse_keycache_lookup(k2, 0, ues[2].key_id, ues[2].app_id,
					      (uint8_t)strlen(ues[2].app_id), now, key),
			 EMSE_KC_HIT);
	assert_memory_equal(key, ues[2].key2, E2M_KEY_LEN);
	/* 204 and 403 are cached negative. */
	assert_int_equal(emse_keycache_peek(k1, 0, ues[0].app_id, (uint8_t)strlen(ues[0].app_id), now),
			 EMSE_KC_NEGATIVE);
	assert_int_equal(emse_keycache_peek(k1, ues[2].key_id, ues[2].app_id,
					    (uint8_t)strlen(ues[2].app_id), now),
			 EMSE_KC_NEGATIVE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.fetches, 6);
	assert_int_equal(s.merged, 1);
	assert_int_equal(s.batches, 2);
	assert_int_equal(s.prov.requests, 2);
	assert_int_equal(s.prov.responses_h2, 2);
	assert_int_equal(s.prov.item_ok, 4);
	assert_int_equal(s.prov.item_no_key, 1);
	assert_int_equal(s.prov.item_forbidden, 1);
	assert_int_equal(s.prov.item_error, 0);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	uint64_t lat = 0;
	for (int i = 0; i < EMSE_LAT_BUCKETS; i++)
		lat += s.prov.latency_ms[i];
	assert_int_equal(lat, 2);
	emse_control_destroy(c);
}

static void test_down_breaker_back(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.breaker_threshold = 3;
	ec.breaker_open_ms = 300;
	ec.max_retries = 2;
	ec.backoff_base_ms = 20;
	struct emse_control *c = make(&ec, 256);
	uint32_t st[64];
	const struct ue *u = &ues[1];
	/* Warm the connection, then take the EMKS away. */
	post(c, 1, 0, u->key_id, u->app_id);
	run_until(c, 1, st);
	assert_int_equal(st[1], EMSE_FETCH_OK);
	int port = emks_port;
	stop_emks();

	/* First batch: refused connections, retried (3 requests), then UNAVAILABLE; the breaker
	 * opened on the third failure. */
	post(c, 2, 0, 0x11111111, u->app_id);
	run_until(c, 1, st);
	assert_int_equal(st[2], EMSE_FETCH_UNAVAILABLE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 4);
	assert_int_equal(s.prov.retries, 2);
	assert_true(s.prov.errors[EMSE_PERR_CONNECT] >= 3);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_OPEN);
	assert_int_equal(s.prov.breaker_opens, 1);
	/* While open: answered UNAVAILABLE with no request sent. */
	post(c, 3, 0, 0x22222222, u->app_id);
	run_until(c, 1, st);
	assert_int_equal(st[3], EMSE_FETCH_UNAVAILABLE);
	struct emse_control_stats s2;
	emse_control_stats(c, &s2);
	assert_int_equal(s2.prov.requests, s.prov.requests);
	assert_int_equal(s2.prov.breaker_rejects, 1);
	assert_int_equal(s2.prov.errors[EMSE_PERR_BREAKER], 1);
	/* Nothing was cached for these failures. */
	uint64_t now = emse_control_now_ms() / 1000;
	assert_int_equal(emse_keycache_peek(emse_control_cache(c, 0), 0x22222222, u->app_id,
					    (uint8_t)strlen(u->app_id), now),
			 EMSE_KC_MISS);

	/* The EMKS comes back (same port, same database); without restarting anything, a key is
	 * fetched once the breaker lets a probe through. */
	assert_int_equal(start_emks(port, 0), 0);
	const struct ue *v = &ues[0];
	uint32_t result = EMSE_FETCH_UNAVAILABLE;
	for (unsigned attempt = 0; attempt < 100 && result != EMSE_FETCH_OK; attempt++) {
		post(c, 4, 0, v->key_id, v->app_id);
		run_until(c, 1, st);
		result = st[4];
		if (result != EMSE_FETCH_OK)
			sleep_ms(100);
	}
	assert_int_equal(result, EMSE_FETCH_OK);
	uint8_t key[E2M_KEY_LEN];
	assert_int_equal(emse_keycache_lookup(emse_control_cache(c, 0), 0, v->key_id, v->app_id,
					      (uint8_t)strlen(v->app_id), now, key),
			 EMSE_KC_HIT);
	assert_memory_equal(key, v->key1, E2M_KEY_LEN);
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	emse_control_destroy(c);
}

static void test_retry_after_honoured(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	int port = emks_port;
	stop_emks();
	assert_int_equal(start_emks(port, 1), 0); /* 1 request per second, then 503 Retry-After: 1 */
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.deadline_ms = 8000;
	ec.max_retries = 6;
	ec.breaker_threshold = 20;
	/* batch_max 1: three keys, three requests in the same second. */
	struct emse_control *c = make(&ec, 1);
	uint32_t st[64];
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	post(c, 2, 0, ues[1].key_id, ues[1].app_id);
	post(c, 3, 1, ues[2].key_id, ues[2].app_id);
	run_until(c, 3, st);
	assert_int_equal(st[1], EMSE_FETCH_OK);
	assert_int_equal(st[2], EMSE_FETCH_OK);
	assert_int_equal(st[3], EMSE_FETCH_OK);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.batches, 3);
	assert_true(s.prov.errors[EMSE_PERR_HTTP_503] >= 1);
	assert_true(s.prov.retries >= 1);
	assert_int_equal(s.prov.item_ok, 3);
	emse_control_destroy(c);
	stop_emks();
	assert_int_equal(start_emks(port, 0), 0);
}


/* max_requests_per_s: with 2 requests per second and one key per batch, three batches cannot all
 * start at once: the third waits for a token (counted) and still succeeds within its deadline;
 * with a deadline shorter than the wait it is refused as OVERLOAD (counted rate_limited). */
static void test_request_rate_limited(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.max_requests_per_s = 2;
	struct emse_control *c = make(&ec, 1);
	uint32_t st[64];
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	post(c, 2, 0, ues[1].key_id, ues[1].app_id);
	post(c, 3, 1, ues[2].key_id, ues[2].app_id);
	run_until(c, 3, st);
	for (int t = 1; t <= 3; t++)
		assert_int_equal(st[t], EMSE_FETCH_OK);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_true(s.prov.rate_limited >= 1);
	assert_int_equal(s.prov.requests, 3);
	emse_control_destroy(c);

	ec.deadline_ms = 100; /* shorter than the half second the third request must wait */
	ec.request_timeout_ms = 90;
	ec.connect_timeout_ms = 90;
	c = make(&ec, 1);
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	post(c, 2, 0, ues[1].key_id, ues[1].app_id);
	post(c, 3, 1, ues[2].key_id, ues[2].app_id);
	run_until(c, 3, st);
	emse_control_stats(c, &s);
	assert_true(s.prov.errors[EMSE_PERR_RATE_LIMIT] >= 1);
	unsigned overload = 0;
	for (int t = 1; t <= 3; t++)
		overload += st[t] == EMSE_FETCH_OVERLOAD;
	assert_true(overload >= 1);
	emse_control_destroy(c);
}

/* EMSE emse-2 presenting emse-1's certificate: the EMKS refuses every item with 403. */
static void test_certificate_mismatch_forbidden(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	const char *const swapped[2] = {"emse-1", "emse-1"};
	struct emse_control *c = make_with(NULL, 256, swapped, NULL, NULL);
	uint32_t st[64];
	post(c, 1, 1, ues[0].key_id, ues[0].app_id); /* UE1 allows emse-2, but not this cert */
	post(c, 2, 0, ues[0].key_id, ues[0].app_id); /* emse-1 with its own certificate: fine */
	run_until(c, 2, st);
	assert_int_equal(st[1], EMSE_FETCH_FORBIDDEN);
	assert_int_equal(st[2], EMSE_FETCH_OK);
	uint64_t now = emse_control_now_ms() / 1000;
	assert_int_equal(emse_keycache_peek(emse_control_cache(c, 1), ues[0].key_id, ues[0].app_id,
					    (uint8_t)strlen(ues[0].app_id), now),
			 EMSE_KC_NEGATIVE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.item_forbidden, 1);
	assert_int_equal(s.results[EMSE_FETCH_FORBIDDEN], 1);
	emse_control_destroy(c);
}

/* register_emse (SPEC.md 6): emse-1 registers with its own certificate and then fetches without
 * emseId; emse-2 presents emse-1's certificate, is refused (403), and keeps sending emseId. */
static void test_register_emse(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.register_emse = 1;
	const char *const swapped[2] = {"emse-1", "emse-1"};
	struct emse_control *c = make_with(&ec, 256, swapped, NULL, NULL);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.emse_registered, 1);
	assert_int_equal(s.prov.emse_register_failures, 1);
	uint32_t st[64];
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	post(c, 2, 1, ues[0].key_id, ues[0].app_id);
	run_until(c, 2, st);
	assert_int_equal(st[1], EMSE_FETCH_OK); /* without emseId: the EMKS knows the certificate */
	assert_int_equal(st[2], EMSE_FETCH_FORBIDDEN);
	uint64_t now = emse_control_now_ms() / 1000;
	uint8_t key[E2M_KEY_LEN];
	assert_int_equal(emse_keycache_lookup(emse_control_cache(c, 0), 0, ues[0].key_id,
					      ues[0].app_id, (uint8_t)strlen(ues[0].app_id), now, key),
			 EMSE_KC_HIT);
	assert_memory_equal(key, ues[0].key1, E2M_KEY_LEN);
	emse_control_destroy(c);
}

/* An EMKS certificate from a CA we do not trust: TLS error, UNAVAILABLE, nothing cached. */
static void test_untrusted_server(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	char other[512], cmd[8192];
	snprintf(other, sizeof(other), "%s/other-ca", tmp);
	snprintf(cmd, sizeof(cmd), "'%s/tools/make-certs.sh' '%s' emse-1 >/dev/null 2>&1", root, other);
	assert_int_equal(system(cmd), 0);
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.max_retries = 1;
	ec.backoff_base_ms = 10;
	struct emse_control *c = make_with(&ec, 256, NULL, other, NULL);
	uint32_t st[64];
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	run_until(c, 1, st);
	assert_int_equal(st[1], EMSE_FETCH_UNAVAILABLE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.errors[EMSE_PERR_TLS], 2);
	assert_int_equal(s.prov.item_ok, 0);
	assert_int_equal(s.emse[0].cache.entries, 0);
	emse_control_destroy(c);
}

/* A server that accepts TCP and never answers: TIMEOUT, after the retries the deadline allows. */
static void test_silent_server_timeout(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0); /* the kernel completes the TCP handshake; no one reads */
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	char silent[64];
	snprintf(silent, sizeof(silent), "https://127.0.0.1:%u", ntohs(a.sin_port));
	struct emse_emks_config ec;
	emse_emks_config_default(&ec);
	ec.connect_timeout_ms = 100;
	ec.request_timeout_ms = 150;
	ec.deadline_ms = 2000;
	ec.max_retries = 1;
	ec.backoff_base_ms = 10;
	ec.breaker_threshold = 10;
	struct emse_control *c = make_with(&ec, 256, NULL, NULL, silent);
	uint32_t st[64];
	post(c, 1, 0, ues[0].key_id, ues[0].app_id);
	run_until(c, 1, st);
	assert_int_equal(st[1], EMSE_FETCH_TIMEOUT);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 2);
	assert_int_equal(s.prov.errors[EMSE_PERR_TIMEOUT], 2);
	assert_int_equal(s.results[EMSE_FETCH_TIMEOUT], 1);
	emse_control_destroy(c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_ok_and_batch),
		cmocka_unit_test(test_down_breaker_back),
		cmocka_unit_test(test_retry_after_honoured),
		cmocka_unit_test(test_request_rate_limited),
		cmocka_unit_test(test_certificate_mismatch_forbidden),
		cmocka_unit_test(test_register_emse),
		cmocka_unit_test(test_untrusted_server),
		cmocka_unit_test(test_silent_server_timeout),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
