/* bench-inproc: wolfSSL's own DTLS 1.2 PSK handshake, client and server objects in one thread,
 * datagrams passed through memory (with the server's HelloVerifyRequest cookie round trip).
 * It is the "what does wolfSSL itself cost" peer of the benchmarks: server time is measured
 * around the server's calls only, so the client's share does not count against it.
 *   bench-inproc [handshakes per case (20000)] [ccm8|gcm|cbc ...]
 * Cases: objects created and freed per handshake, and pooled (wolfSSL_clear + import of a
 * never-used state, WOLFSSL-NOTES.md). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emse/rng.h"

#define QLEN 16
struct dgram_queue {
	unsigned head, tail;
	int len[QLEN];
	unsigned char buf[QLEN][1500];
};
static struct dgram_queue to_server, to_client;
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
		for (int pool = 0; pool <= 1; pool++) {
			struct side c = { .rx = &to_client, .tx = &to_server };
			struct side s = { .rx = &to_server, .tx = &to_client };
			if (setup(&c, wolfDTLSv1_2_client_method(), name, 0) ||
			    setup(&s, wolfDTLSv1_2_server_method(), name, 1)) {
				fprintf(stderr, "set-up failed for %s\n", name);
				return 1;
			}
			int hvr = 0, fails = 0;
			for (long i = 0; i < n / 10; i++)
				one(&c, &s, pool, &hvr);
			hvr = 0;
			double srv = 0, t0 = now_ns(), c0 = cpu_ns();
			for (long i = 0; i < n; i++) {
				double t = one(&c, &s, pool, &hvr);
				if (t < 0)
					fails++;
				else
					srv += t;
			}
			/* The server's share is timed per call in wall time (a CPU-time clock is a system
			 * call, too slow to wrap every call); scale it to the loop's CPU time. */
			double wall = now_ns() - t0, cpu = cpu_ns() - c0;
			double both = cpu / (double)n, per = srv * (cpu / wall) / (double)(n - fails);
			printf("%-22s %-10s %12.2f %14.0f %12.2f %8d%s\n", name, pool ? "pooled" : "new/free",
			       per / 1e3, 1e9 / per, both / 1e3, hvr, fails ? " FAILURES" : "");
			if (fails)
				printf("  %d of %ld handshakes failed\n", fails, n);
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
