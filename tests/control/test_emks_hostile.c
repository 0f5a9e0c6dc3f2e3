/* The EMKS provider against a scripted, misbehaving server (TLS, HTTP/1.1 after ALPN, one answer
 * per connection): 5xx retried then the breaker, 429 with a long Retry-After (fail fast, later
 * batches held off without a request), 503 then a good answer (retried, OK), malformed 200
 * bodies (ERROR, not retried), a 400, an oversized body. Needs tools/make-certs.sh and openssl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ssl.h>
#include <rte_eal.h>

#include "emse/control_plane.h"

#define KEY64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KID 0x0badcafeu
#define KIDS "0badcafe"

static char root[4096], tmp[256];

struct answer {
	int status;
	const char *headers; /* extra header lines, each ending in \r\n */
	const char *body;
	size_t big;          /* > 0: a body of this many 'x' instead */
};

/* The scripted server runs as a thread of the test, not a forked child: the test process has
 * DPDK's threads, and a fork while one of them holds the (ASan) allocator's lock left the child
 * deadlocked in its first malloc (seen in ~1 of 3 ASan runs). */
static pthread_t server_thread;
static int server_fd = -1;
static volatile int server_stop;
static int server_port;
struct serve_args {
	int lfd;
	const struct answer *script;
	unsigned n;
};

static void serve(int lfd, const struct answer *script, unsigned n)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char cert[600], key[600];
	snprintf(cert, sizeof(cert), "%s/certs/emks.pem", tmp);
	snprintf(key, sizeof(key), "%s/certs/emks.key", tmp);
	if (!ctx || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "scripted server: no certificate\n");
		SSL_CTX_free(ctx);
		return;
	}
	for (unsigned i = 0;; i++) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0) {
			if (server_stop)
				break;
			continue;
		}
		SSL *s = SSL_new(ctx);
		SSL_set_fd(s, c);
		if (SSL_accept(s) == 1) {
			/* Read the head and the body (Content-Length) of the one request. */
			static char buf[1 << 16];
			size_t len = 0;
			char *eoh = NULL;
			long clen = 0;
			for (;;) {
				int r = SSL_read(s, buf + len, (int)(sizeof(buf) - 1 - len));
				if (r <= 0)
					break;
				len += (size_t)r;
				buf[len] = '\0';
				if (!eoh && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
					char *cl = strcasestr(buf, "content-length:");
					clen = cl ? strtol(cl + 15, NULL, 10) : 0;
				}
				if (eoh && (long)(len - (size_t)(eoh + 4 - buf)) >= clen)
					break;
			}
			const struct answer *a = &script[i < n ? i : n - 1];
			size_t blen = a->big ? a->big : strlen(a->body);
			char head[512];
			int hl = snprintf(head, sizeof(head),
					  "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
					  "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
					  a->status, blen, a->headers ? a->headers : "");
			SSL_write(s, head, hl);
			if (a->big) {
				static char chunk[1 << 14];
				memset(chunk, 'x', sizeof(chunk));
				for (size_t off = 0; off < blen;) {
					size_t k = blen - off < sizeof(chunk) ? blen - off : sizeof(chunk);
					if (SSL_write(s, chunk, (int)k) <= 0)
						break;
					off += k;
				}
			} else if (blen) {
				SSL_write(s, a->body, (int)blen);
			}
			SSL_shutdown(s);
		}
		SSL_free(s);
		close(c);
	}
	SSL_CTX_free(ctx);
}

static void *serve_main(void *arg)
{
	struct serve_args *a = arg;
	serve(a->lfd, a->script, a->n);
	return NULL;
}

static void start_server(const struct answer *script, unsigned n)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	server_port = ntohs(a.sin_port);
	/* a client that goes away mid-answer must not end the test */
	signal(SIGPIPE, SIG_IGN);
	static struct serve_args args;
	args = (struct serve_args){fd, script, n};
	server_fd = fd;
	server_stop = 0;
	assert_int_equal(pthread_create(&server_thread, NULL, serve_main, &args), 0);
}

static void stop_server(void)
{
	if (server_fd >= 0) {
		server_stop = 1;
		shutdown(server_fd, SHUT_RDWR); /* wakes the accept() */
		pthread_join(server_thread, NULL);
		close(server_fd);
		server_fd = -1;
	}
}

static unsigned batch_max = EMSE_KEYPROV_BATCH_MAX;

static struct emse_control *make(struct emse_emks_config *ec)
{
	static char url[64], cert[600], key[600], ca[600];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", server_port);
	snprintf(cert, sizeof(cert), "%s/certs/emse/emse-1.pem", tmp);
	snprintf(key, sizeof(key), "%s/certs/emse/emse-1.key", tmp);
	snprintf(ca, sizeof(ca), "%s/certs/ca.pem", tmp);
	ec->base_url = url;
	ec->ca_file = ca;
	ec->ids[0] = (struct emse_emks_identity){.emse_id = "emse-1", .cert = cert, .key = key};
	ec->n_ids = 1;
	char err[128] = "";
	struct emse_keyprov *p = emse_keyprov_emks_create(ec, err, sizeof(err));
	assert_non_null(p);
	struct emse_control_config cfg;
	emse_control_config_default(&cfg);
	cfg.n_workers = 1;
	cfg.n_emse = 1;
	cfg.emse_ids[0] = "emse-1";
	cfg.cache_capacity = 64;
	cfg.batch_max = batch_max;
	cfg.prov = p;
	struct emse_control *c = emse_control_create(&cfg, err, sizeof(err));
	assert_non_null(c);
	return c;
}

static uint32_t fetch(struct emse_control *c, uint32_t key_id)
{
	struct emse_key_request r;
	memset(&r, 0, sizeof(r));
	r.token = key_id;
	r.key_id = key_id;
	r.app_id_len = 7;
	memcpy(r.app_id, "ue.host", 7);
	assert_int_equal(emse_control_post(c, &r), 0);
	uint64_t give_up = emse_control_now_ms() + 30000; /* liveness guard only */
	for (;;) {
		emse_control_run_once(c, emse_control_now_ms());
		struct emse_key_completion cp;
		if (emse_control_poll(c, 0, &cp, 1) == 1) {
			assert_int_equal(cp.token, key_id);
			return cp.status;
		}
		if (emse_control_now_ms() > give_up)
			fail_msg("no answer");
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
}

static void base(struct emse_emks_config *ec)
{
	emse_emks_config_default(ec);
	ec->backoff_base_ms = 10;
	/* generous: the machine is shared and these tests are not about timeouts */
	ec->connect_timeout_ms = 5000;
	ec->request_timeout_ms = 5000;
	ec->deadline_ms = 15000;
}

static void test_5xx_retried_then_breaker(void **state)
{
	(void)state;
	static const struct answer a[] = {{500, NULL, "{\"status\":500}", 0}};
	start_server(a, 1);
	struct emse_emks_config ec;
	base(&ec);
	ec.max_retries = 2;
	ec.breaker_threshold = 3;
	ec.breaker_open_ms = 60000;
	struct emse_control *c = make(&ec);
	assert_int_equal(fetch(c, KID), EMSE_FETCH_UNAVAILABLE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 3);
	assert_int_equal(s.prov.retries, 2);
	assert_int_equal(s.prov.errors[EMSE_PERR_HTTP_5XX], 3);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_OPEN);
	/* Open: the next key fails at once, no request. */
	assert_int_equal(fetch(c, KID + 1), EMSE_FETCH_UNAVAILABLE);
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 3);
	assert_int_equal(s.prov.breaker_rejects, 1);
	emse_control_destroy(c);
	stop_server();
}

static void test_429_long_retry_after(void **state)
{
	(void)state;
	static const struct answer a[] = {{429, "Retry-After: 100\r\n", "{\"status\":429}", 0}};
	start_server(a, 1);
	struct emse_emks_config ec;
	base(&ec);
	struct emse_control *c = make(&ec);
	/* Retry-After beyond the deadline: answered at once, not retried. */
	assert_int_equal(fetch(c, KID), EMSE_FETCH_UNAVAILABLE);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 1);
	assert_int_equal(s.prov.errors[EMSE_PERR_HTTP_429], 1);
	/* 429 is not "down": the breaker stays closed; the hold-off keeps the next request home. */
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	assert_int_equal(fetch(c, KID + 1), EMSE_FETCH_UNAVAILABLE);
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 1);
	assert_int_equal(s.prov.errors[EMSE_PERR_HELD_OFF], 1);
	emse_control_destroy(c);
	stop_server();
}

static void test_503_then_ok(void **state)
{
	(void)state;
	static const struct answer a[] = {
		{503, "Retry-After: 1\r\n", "{\"status\":503}", 0},
		{200, NULL,
		 "{\"results\":[{\"status\":200,\"e2mKey\":\"" KEY64 "\",\"keyId\":\"" KIDS
		 "\",\"expiry\":\"2099-01-01T00:00:00Z\"}]}",
		 0},
	};
	start_server(a, 2);
	struct emse_emks_config ec;
	base(&ec);
	struct emse_control *c = make(&ec);
	assert_int_equal(fetch(c, KID), EMSE_FETCH_OK);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 2);
	assert_int_equal(s.prov.retries, 1);
	assert_int_equal(s.prov.errors[EMSE_PERR_HTTP_503], 1);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	uint8_t key[E2M_KEY_LEN];
	assert_int_equal(emse_keycache_lookup(emse_control_cache(c, 0), 0, KID, "ue.host", 7,
					      emse_control_now_ms() / 1000, key),
			 EMSE_KC_HIT);
	assert_int_equal(key[1], 0x11);
	emse_control_destroy(c);
	stop_server();
}

/* Each answer is received and refused: ERROR, one request each (no retry), counted as parse. */
static void test_malformed_answers(void **state)
{
	(void)state;
	static const struct answer a[] = {
		{200, NULL, "{\"results\":[{\"status\":204},{\"status\":204}]}", 0},         /* extra */
		{200, NULL, "{\"results\":[{\"status\":200,\"e2mKey\":\"0011\",\"keyId\":\"" KIDS
			    "\",\"expiry\":\"2099-01-01T00:00:00Z\"}]}", 0},                      /* short hex */
		{200, NULL, "<html>hello</html>", 0},                                              /* not JSON */
		{400, NULL, "{\"status\":400,\"cause\":\"MANDATORY_IE_INCORRECT\"}", 0},
		{200, NULL, NULL, (size_t)2 << 20},                                                /* 2 MiB */
	};
	start_server(a, 5);
	struct emse_emks_config ec;
	base(&ec);
	struct emse_control *c = make(&ec);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(fetch(c, KID + i), EMSE_FETCH_ERROR);
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.requests, 5);
	assert_int_equal(s.prov.retries, 0);
	assert_int_equal(s.prov.errors[EMSE_PERR_PARSE], 4);
	assert_int_equal(s.prov.errors[EMSE_PERR_HTTP_4XX], 1);
	assert_int_equal(s.prov.item_error, 5);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	/* Nothing cached for an ERROR: the next handshake asks again. */
	assert_int_equal(s.emse[0].cache.entries, 0);
	emse_control_destroy(c);
	stop_server();
}

/* Five requests in flight when the EMKS refuses them all are one failure for the breaker, not
 * five; failures one after the other do count, and open it at the threshold. */
static void test_breaker_counts_rounds_not_streams(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	server_port = ntohs(a.sin_port);
	close(fd); /* nobody listens there now: connection refused */
	struct emse_emks_config ec;
	base(&ec);
	ec.max_retries = 0;
	ec.breaker_threshold = 3;
	ec.breaker_open_ms = 60000;
	batch_max = 1; /* five keys, five requests, all started in the same step */
	struct emse_control *c = make(&ec);
	batch_max = EMSE_KEYPROV_BATCH_MAX;
	for (uint32_t i = 0; i < 5; i++) {
		struct emse_key_request r;
		memset(&r, 0, sizeof(r));
		r.token = i;
		r.key_id = KID + i;
		r.app_id_len = 7;
		memcpy(r.app_id, "ue.host", 7);
		assert_int_equal(emse_control_post(c, &r), 0);
	}
	unsigned got = 0;
	uint64_t give_up = emse_control_now_ms() + 30000; /* liveness guard only */
	while (got < 5) {
		emse_control_run_once(c, emse_control_now_ms());
		struct emse_key_completion cp[8];
		unsigned k = emse_control_poll(c, 0, cp, 8);
		for (unsigned i = 0; i < k; i++)
			assert_int_equal(cp[i].status, EMSE_FETCH_UNAVAILABLE);
		got += k;
		if (emse_control_now_ms() > give_up)
			fail_msg("no answer");
	}
	struct emse_control_stats s;
	emse_control_stats(c, &s);
	assert_int_equal(s.batches, 5);
	assert_int_equal(s.prov.requests, 5);
	assert_int_equal(s.prov.errors[EMSE_PERR_CONNECT], 5);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	/* Two more, one after the other: the second and third counted failures open it. */
	assert_int_equal(fetch(c, KID + 10), EMSE_FETCH_UNAVAILABLE);
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_CLOSED);
	assert_int_equal(fetch(c, KID + 11), EMSE_FETCH_UNAVAILABLE);
	emse_control_stats(c, &s);
	assert_int_equal(s.prov.breaker_state, EMSE_BREAKER_OPEN);
	assert_int_equal(s.prov.breaker_opens, 1);
	emse_control_destroy(c);
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

static int setup(void **state)
{
	(void)state;
	if (find_root() != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/emse-ctl-hostile.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s/tools/make-certs.sh' '%s/certs' emse-1 >/dev/null 2>&1", root,
		 tmp);
	if (system(cmd) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test_emks_hostile_%d", (int)getpid());
	char *argv[] = {"test_emks_hostile", "-l", "0", "--no-huge", "-m", "256", "--no-pci",
			"--file-prefix", prefix, "--log-level=lib.eal:error", NULL};
	return rte_eal_init(10, argv) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_server();
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	char cmd[PATH_MAX + 600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tmp, dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5xx_retried_then_breaker),
		cmocka_unit_test(test_429_long_retry_after),
		cmocka_unit_test(test_503_then_ok),
		cmocka_unit_test(test_malformed_answers),
		cmocka_unit_test(test_breaker_counts_rounds_not_streams),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
