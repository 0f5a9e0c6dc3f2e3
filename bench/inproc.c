/* bench-inproc: wolfSSL's own DTLS 1.2 PSK handshake, client and server objects in one thread,
 * datagrams passed through memory (with the server's HelloVerifyRequest cookie round trip).
 * It is the "what does wolfSSL itself cost" peer of the benchmarks: server time is measured
 * around the server's calls only, so the client's share does not count against it.
 *   bench-inproc [handshakes per case (20000)] [ccm8|gcm|cbc ...]
 * Cases: objects created and freed per handshake, and pooled (wolfSSL_clear + import of a
 * never-used state, WOLFSSL-NOTES.md); and emse's own engine as the server (dataplane/dtls/hs12.c with
 * the worker's cookie and record layer, no DPDK): what emse's worker costs beyond it is the
 * dataplane's share. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emse/config.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/hs12.h"
#include "emse/rng.h"

#define QLEN 16
struct dgram_queue {
	unsigned head, tail;
	int len[QLEN];
	unsigned char buf[QLEN][1500];
};
static struct dgram_queue to_server, to_client;
static int hvr_count; /* HelloVerifyRequests in the timed part of a case */
static const unsigned char psk[32] = "inproc-bench-psk-0123456789abcd";
static const char identity[] = "e2m.ae47bf35@sensor-17@acme.example";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine, wall time counts other processes' turns too. */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int q_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct dgram_queue *q = ctx;
	if (q->head == q->tail)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	unsigned i = q->head++ % QLEN;
	int n = q->len[i] < sz ? q->len[i] : sz;
	memcpy(buf, q->buf[i], (size_t)n);
	return n;
}

static int q_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct dgram_queue *q = ctx;
	if (q->tail - q->head == QLEN || sz > 1500)
		return sz; /* dropped, as on a wire */
	unsigned i = q->tail++ % QLEN;
	memcpy(q->buf[i], buf, (size_t)sz);
	q->len[i] = sz;
	return sz;
}

static unsigned client_psk(WOLFSSL *ssl, const char *hint, char *id, unsigned id_max,
			   unsigned char *key, unsigned key_max)
{
	(void)ssl;
	(void)hint;
	if (id_max < sizeof(identity) || key_max < sizeof(psk))
		return 0;
	memcpy(id, identity, sizeof(identity));
	memcpy(key, psk, sizeof(psk));
	return sizeof(psk);
}

static unsigned server_psk(WOLFSSL *ssl, const char *id, unsigned char *key, unsigned key_max)
{
	(void)ssl;
	if (strcmp(id, identity) != 0 || key_max < sizeof(psk))
		return 0;
	memcpy(key, psk, sizeof(psk));
	return sizeof(psk);
}

struct side {
	WOLFSSL_CTX *ctx;
	WOLFSSL *pooled;
	unsigned char blob[512];
	int blob_len;
	struct dgram_queue *rx, *tx;
};

static WOLFSSL *take(struct side *s, int pool)
{
	WOLFSSL *ssl = pool ? s->pooled : NULL;
	if (!ssl) {
		ssl = wolfSSL_new(s->ctx);
		if (!ssl)
			return NULL;
	}
	wolfSSL_SetIOReadCtx(ssl, s->rx);
	wolfSSL_SetIOWriteCtx(ssl, s->tx);
	wolfSSL_dtls_set_using_nonblock(ssl, 1);
	return ssl;
}

static void give_back(struct side *s, WOLFSSL *ssl, int pool)
{
	if (pool && wolfSSL_clear(ssl) == WOLFSSL_SUCCESS &&
	    wolfSSL_dtls_import(ssl, s->blob, (unsigned)s->blob_len) > 0) {
		s->pooled = ssl;
		return;
	}
	if (pool)
		s->pooled = NULL;
	wolfSSL_free(ssl);
}

static int setup(struct side *s, WOLFSSL_METHOD *m, const char *suite, int server)
{
	s->ctx = wolfSSL_CTX_new(m);
	if (!s->ctx || wolfSSL_CTX_set_cipher_list(s->ctx, suite) != WOLFSSL_SUCCESS)
		return -1;
	wolfSSL_CTX_SetIORecv(s->ctx, q_recv);
	wolfSSL_CTX_SetIOSend(s->ctx, q_send);
	wolfSSL_CTX_set_session_cache_mode(s->ctx, WOLFSSL_SESS_CACHE_OFF);
	if (server)
		wolfSSL_CTX_set_psk_server_callback(s->ctx, server_psk);
	else
		wolfSSL_CTX_set_psk_client_callback(s->ctx, client_psk);
	WOLFSSL *t = wolfSSL_new(s->ctx);
	unsigned sz = sizeof(s->blob);
	s->blob_len = t ? wolfSSL_dtls_export_state_only(t, s->blob, &sz) : -1;
	wolfSSL_free(t);
	return s->blob_len > 0 ? 0 : -1;
}

/* One handshake; returns the server's share in ns, or a negative value on failure. */
static double one(struct side *c, struct side *s, int pool, int *hvr)
{
	static struct sockaddr_peer { unsigned char b[8]; } peer = { { 2, 0, 0x12, 0x34, 198, 19, 0, 1 } };
	to_server.head = to_server.tail = to_client.head = to_client.tail = 0;
	WOLFSSL *cl = take(c, pool);
	double t0 = now_ns();
	WOLFSSL *sv = take(s, pool);
	/* the server's cookie covers the peer bytes; a real server sets the client's address */
	wolfSSL_dtls_set_peer(sv, &peer, sizeof(peer));
	double srv = now_ns() - t0;
	int cdone = 0, sdone = 0;
	for (int round = 0; round < 16 && !(cdone && sdone); round++) {
		if (!cdone) {
			int r = wolfSSL_connect(cl);
			if (r == WOLFSSL_SUCCESS)
				cdone = 1;
			else if (wolfSSL_get_error(cl, r) != WOLFSSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			t0 = now_ns();
			int r = wolfSSL_accept(sv);
			srv += now_ns() - t0;
			if (r == WOLFSSL_SUCCESS)
				sdone = 1;
			else if (wolfSSL_get_error(sv, r) != WOLFSSL_ERROR_WANT_READ)
				break;
			if (round == 0 && to_client.tail == 1 && to_client.len[0] > 13 &&
			    to_client.buf[0][0] == 22 && to_client.buf[0][13] == 3)
				(*hvr)++;
		}
	}
	give_back(c, cl, pool && cdone);
	t0 = now_ns();
	give_back(s, sv, pool && sdone);
	srv += now_ns() - t0;
	return cdone && sdone ? srv : -1;
}

/* The server side as emse's worker runs it: cookie gate, hs12.c, then the client's close_notify
 * opened and answered by the compact session. */
struct native {
	struct emse_cookie_keys ck;
	struct emse_record_ctx rc;
	struct emse_hs12 h;
	uint32_t suites;
};

static void q_put(struct dgram_queue *q, const uint8_t *p, size_t n)
{
	q_send(NULL, (char *)(uintptr_t)p, (int)n, q);
}

/* One datagram from the client; returns 1 when the session is established. */
static int native_rx(struct native *nv, int *started, const uint8_t *dg, size_t n, int *hvr)
{
	static const uint8_t peer[19] = {4, 198, 19, 0, 1, 0x12, 0x34};
	if (!*started) {
		struct dtls_client_hello ch;
		struct emse_hs12_hello hello;
		if (dtls_parse_client_hello(dg, n, &ch) != DTLS_PEEK_OK)
			return -1;
		if (!ch.cookie_len || !emse_cookie_verify(&nv->ck, peer, sizeof(peer), &ch)) {
			uint8_t out[EMSE_HVR_MAX];
			q_put(&to_client, out, emse_cookie_build_hvr(nv->ck.cur, peer, sizeof(peer), &ch, out));
			(*hvr)++;
			return 0;
		}
		if (emse_hs12_parse_hello(&ch, nv->suites, &hello) != EMSE_HS12_OK ||
		    emse_hs12_start(&nv->h, &hello, "") != 0)
			return -1;
		*started = 1;
		q_put(&to_client, nv->h.flight, nv->h.flight_len);
		return 0;
	}
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t on;
	enum emse_hs_fail why;
	switch (emse_hs12_input(&nv->h, &nv->rc, psk, sizeof(psk), dg, n, out, &on, &why)) {
	case EMSE_HS12_DONE:
		q_put(&to_client, out, on);
		return 1;
	case EMSE_HS12_FATAL:
		return -1;
	default:
		return 0;
	}
}

static double one_native(struct side *c, struct native *nv, int *hvr)
{
	to_server.head = to_server.tail = to_client.head = to_client.tail = 0;
	WOLFSSL *cl = take(c, 1);
	double srv = 0, t0;
	int cdone = 0, sdone = 0, started = 0;
	uint8_t dg[1500];
	for (int round = 0; round < 16 && !cdone; round++) {
		int r = wolfSSL_connect(cl);
		if (r == WOLFSSL_SUCCESS)
			cdone = 1;
		else if (wolfSSL_get_error(cl, r) != WOLFSSL_ERROR_WANT_READ)
			break;
		while (to_server.head != to_server.tail) {
			int n = q_recv(NULL, (char *)dg, sizeof(dg), &to_server);
			t0 = now_ns();
			int x = native_rx(nv, &started, dg, (size_t)n, hvr);
			srv += now_ns() - t0;
			if (x < 0)
				break;
			sdone |= x;
		}
	}
	/* the client says close_notify; the compact session opens it and answers */
	wolfSSL_shutdown(cl);
	if (cdone && sdone && to_server.head != to_server.tail) {
		int n = q_recv(NULL, (char *)dg, sizeof(dg), &to_server);
		t0 = now_ns();
		uint8_t plain[64], type;
		size_t used, pl;
		enum emse_rec_drop why;
		if (emse_record_open(&nv->rc, &nv->h.rec, dg, (size_t)n, &used, plain, &pl, &type,
				     &why) != EMSE_REC_ALERT)
			sdone = 0;
		uint8_t rec[64];
		size_t rl;
		emse_record_seal_close_notify(&nv->rc, &nv->h.rec, rec, sizeof(rec), &rl);
		emse_hs12_wipe(&nv->h);
		srv += now_ns() - t0;
	}
	give_back(c, cl, cdone);
	return cdone && sdone ? srv : -1;
}

/* One case: n/10 warm-up handshakes, then n timed; prints the row. one() returns the server's
 * share of a handshake in wall ns, or < 0 on failure. Returns the failures. */
static int measure(const char *name, const char *label, long n, double (*one_fn)(void *), void *arg)
{
	int fails = 0;
	for (long i = 0; i < n / 10; i++)
		one_fn(arg);
	hvr_count = 0;
	double srv = 0, t0 = now_ns(), c0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		double t = one_fn(arg);
		if (t < 0)
			fails++;
		else
			srv += t;
	}
	/* The server's share is timed per call in wall time (a CPU-time clock is a system call, too
	 * slow to wrap every call); scale it to the loop's CPU time. */
	double wall = now_ns() - t0, cpu = cpu_ns() - c0;
	double both = cpu / (double)n, per = srv * (cpu / wall) / (double)(n - fails);
	printf("%-22s %-10s %12.2f %14.0f %12.2f %8d%s\n", name, label, per / 1e3, 1e9 / per,
	       both / 1e3, hvr_count, fails ? " FAILURES" : "");
	if (fails)
		printf("  %d of %ld handshakes failed\n", fails, n);
	return fails;
}

struct wolf_case {
	struct side *c, *s;
	int pool;
};
static double one_wolf(void *arg)
{
	struct wolf_case *k = arg;
	return one(k->c, k->s, k->pool, &hvr_count);
}
struct native_case {
	struct side *c;
	struct native *nv;
};
static double one_native_case(void *arg)
{
	struct native_case *k = arg;
	return one_native(k->c, k->nv, &hvr_count);
}

/* The hs12.c case: the client pooled as in the other cases. */
static int run_native(const char *name, long n)
{
	struct side c = { .rx = &to_client, .tx = &to_server };
	struct native *nv = calloc(1, sizeof(*nv));
	if (!nv || setup(&c, wolfDTLSv1_2_client_method(), name, 0) ||
	    emse_cookie_init(&nv->ck, 0) || emse_record_ctx_init(&nv->rc, 0)) {
		fprintf(stderr, "set-up failed for %s (native)\n", name);
		return 1;
	}
	nv->suites = EMSE_SUITE_CCM8 | EMSE_SUITE_GCM;
	measure(name, "emse hs12", n, one_native_case, &(struct native_case){&c, nv});
	if (c.pooled)
		wolfSSL_free(c.pooled);
	wolfSSL_CTX_free(c.ctx);
	emse_record_ctx_fini(&nv->rc);
	emse_cookie_wipe(&nv->ck);
	free(nv);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	wolfSSL_Init();
	const char *suites[8] = { "ccm8", "gcm" };
	int nsuites = 2;
	if (argc > 2) {
		nsuites = 0;
		for (int i = 2; i < argc && nsuites < 8; i++)
			suites[nsuites++] = argv[i];
	}
	printf("bench-inproc: wolfSSL %s DTLS 1.2 PSK handshakes in memory, HVR cookie, %ld per case\n"
	       "(CPU time of this thread; server = its share of it)\n",
	       LIBWOLFSSL_VERSION_STRING, n);
	printf("%-22s %-10s %12s %14s %12s %8s\n", "suite", "objects", "server us", "server hs/s",
	       "both us", "HVRs");
	for (int si = 0; si < nsuites; si++) {
		const char *name = !strcmp(suites[si], "gcm") ? "PSK-AES128-GCM-SHA256" :
				   !strcmp(suites[si], "cbc") ? "PSK-AES128-CBC-SHA256" : "PSK-AES128-CCM-8";
		for (int pool = 0; pool <= 2; pool++) {
			if (pool == 2) {
				if (!strcmp(suites[si], "cbc"))
					continue; /* not served by hs12.c */
				if (run_native(name, n))
					return 1;
				continue;
			}
			struct side c = { .rx = &to_client, .tx = &to_server };
			struct side s = { .rx = &to_server, .tx = &to_client };
			if (setup(&c, wolfDTLSv1_2_client_method(), name, 0) ||
			    setup(&s, wolfDTLSv1_2_server_method(), name, 1)) {
				fprintf(stderr, "set-up failed for %s\n", name);
				return 1;
			}
			measure(name, pool ? "pooled" : "new/free", n, one_wolf,
				&(struct wolf_case){&c, &s, pool});
			if (c.pooled)
				wolfSSL_free(c.pooled);
			if (s.pooled)
				wolfSSL_free(s.pooled);
			wolfSSL_CTX_free(c.ctx);
			wolfSSL_CTX_free(s.ctx);
		}
	}
	wolfSSL_Cleanup();
	return 0;
}
