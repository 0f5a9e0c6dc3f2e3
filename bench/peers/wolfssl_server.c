/* peer-wolfssl-server: the kernel-socket reference for the generator. A plain wolfSSL DTLS 1.2 PSK
 * echo server as an application would write it: one UDP socket, one thread, one WOLFSSL object
 * per client address (wolfSSL's own HelloVerifyRequest cookie), PSKs from the same population
 * files as emse-bench. Its handshake rate is the "kernel-socket server" peer of the benchmarks. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emse/rng.h"
#include "../gen/pop.h"

struct peer {
	struct peer *next;          /* hash chain */
	struct peer *all_next, **all_prev;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	WOLFSSL *ssl;
	bool established;
	double deadline;            /* retransmission timer while handshaking */
	double last_seen;
};

static struct {
	int fd;
	WOLFSSL_CTX *ctx;
	struct pop pop;
	struct peer **bucket;
	size_t nbucket;
	struct peer *all;
	size_t npeers, max_peers;
	/* the datagram being fed to wolfSSL */
	const uint8_t *rx;
	size_t rx_len;
	/* pooled objects: wolfSSL_clear + import of a never-used state (WOLFSSL-NOTES.md) */
	bool pool;
	WOLFSSL **free_ssl;
	size_t nfree, free_cap;
	uint8_t blob[512];
	unsigned blob_len;
	double idle;
	struct {
		unsigned long long handshakes, failures, echoed, closed, idle_freed, dropped, new_objects;
	} st;
	int last_error; /* wolfSSL error of the latest failure, for the report */
} S;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t addr_hash(const struct sockaddr_storage *a, socklen_t len)
{
	const uint8_t *b = (const uint8_t *)a;
	uint32_t h = 2166136261u;
	for (socklen_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h & (S.nbucket - 1);
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	(void)ctx;
	if (!S.rx)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	size_t n = S.rx_len < (size_t)sz ? S.rx_len : (size_t)sz;
	memcpy(buf, S.rx, n);
	S.rx = NULL;
	return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct peer *p = ctx;
	ssize_t n = sendto(S.fd, buf, (size_t)sz, 0, (struct sockaddr *)&p->addr, p->addr_len);
	if (n < 0)
		return errno == EAGAIN ? WOLFSSL_CBIO_ERR_WANT_WRITE : WOLFSSL_CBIO_ERR_GENERAL;
	return (int)n;
}

static unsigned psk_cb(WOLFSSL *ssl, const char *identity, unsigned char *key, unsigned max)
{
	(void)ssl;
	const struct pop_ue *u = pop_find(&S.pop, identity, strlen(identity));
	if (!u || max < E2M_KEY_LEN)
		return 0;
	memcpy(key, u->key, E2M_KEY_LEN);
	return E2M_KEY_LEN;
}

static WOLFSSL *get_ssl(void)
{
	if (S.nfree)
		return S.free_ssl[--S.nfree];
	S.st.new_objects++;
	return wolfSSL_new(S.ctx);
}

static void put_ssl(WOLFSSL *ssl, bool clean)
{
	if (S.pool && clean && wolfSSL_clear(ssl) == WOLFSSL_SUCCESS &&
	    wolfSSL_dtls_import(ssl, S.blob, S.blob_len) > 0) {
		if (S.nfree == S.free_cap) {
			size_t cap = S.free_cap ? 2 * S.free_cap : 256;
			WOLFSSL **f = realloc(S.free_ssl, cap * sizeof(*f));
			if (!f) {
				wolfSSL_free(ssl);
				return;
			}
			S.free_ssl = f;
			S.free_cap = cap;
		}
		S.free_ssl[S.nfree++] = ssl;
		return;
	}
	wolfSSL_free(ssl);
}

static struct peer *peer_find(const struct sockaddr_storage *a, socklen_t len)
{
	for (struct peer *p = S.bucket[addr_hash(a, len)]; p; p = p->next)
		if (p->addr_len == len && memcmp(&p->addr, a, len) == 0)
			return p;
	return NULL;
}

static struct peer *peer_new(const struct sockaddr_storage *a, socklen_t len)
{
	if (S.npeers >= S.max_peers)
		return NULL;
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ssl = get_ssl();
	if (!p->ssl) {
		free(p);
		return NULL;
	}
	memcpy(&p->addr, a, len);
	p->addr_len = len;
	wolfSSL_SetIOReadCtx(p->ssl, p);
	wolfSSL_SetIOWriteCtx(p->ssl, p);
	/* the cookie covers these bytes: the client's address and port */
	wolfSSL_dtls_set_peer(p->ssl, &p->addr, p->addr_len);
	wolfSSL_dtls_set_using_nonblock(p->ssl, 1);
	size_t h = addr_hash(a, len);
	p->next = S.bucket[h];
	S.bucket[h] = p;
	p->all_next = S.all;
	if (S.all)
		S.all->all_prev = &p->all_next;
	p->all_prev = &S.all;
	S.all = p;
	S.npeers++;
	return p;
}

static void peer_free(struct peer *p, bool clean)
{
	struct peer **pp = &S.bucket[addr_hash(&p->addr, p->addr_len)];
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	*p->all_prev = p->all_next;
	if (p->all_next)
		p->all_next->all_prev = p->all_prev;
	put_ssl(p->ssl, clean);
	S.npeers--;
	free(p);
}

static void arm_timer(struct peer *p, double now)
{
	int t = wolfSSL_dtls_get_current_timeout(p->ssl);
	p->deadline = now + (t > 0 ? t : 1);
}

static void on_datagram(const struct sockaddr_storage *a, socklen_t alen, const uint8_t *d,
			size_t len, double now)
{
	struct peer *p = peer_find(a, alen);
	if (!p) {
		if (len < 13 || d[0] != 22) { /* only a handshake record may open a peer */
			S.st.dropped++;
			return;
		}
		p = peer_new(a, alen);
		if (!p) {
			S.st.dropped++;
			return;
		}
	}
	p->last_seen = now;
	S.rx = d;
	S.rx_len = len;
	if (!p->established) {
		int r = wolfSSL_accept(p->ssl);
		if (r == WOLFSSL_SUCCESS) {
			p->established = true;
			S.st.handshakes++;
		} else {
			int e = wolfSSL_get_error(p->ssl, r);
			if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE) {
				S.st.failures++;
				S.last_error = e;
				S.rx = NULL;
				peer_free(p, false);
				return;
			}
			arm_timer(p, now);
		}
	}
	if (p->established) {
		uint8_t buf[2048];
		for (;;) {
			int n = wolfSSL_read(p->ssl, buf, sizeof(buf));
			if (n > 0) {
				if (wolfSSL_write(p->ssl, buf, n) == n)
					S.st.echoed++;
				continue;
			}
			int e = wolfSSL_get_error(p->ssl, n);
			if (e == WOLFSSL_ERROR_WANT_READ)
				break;
			if (e == WOLFSSL_ERROR_ZERO_RETURN) {
				S.st.closed++;
				S.rx = NULL;
				peer_free(p, true);
			} else {
				S.st.failures++;
				S.last_error = e;
				S.rx = NULL;
				peer_free(p, false);
			}
			return;
		}
	}
	S.rx = NULL;
}

static void sweep(double now)
{
	struct peer *next;
	for (struct peer *p = S.all; p; p = next) {
		next = p->all_next;
		if (now - p->last_seen > S.idle) {
			S.st.idle_freed++;
			peer_free(p, false);
		} else if (!p->established && now >= p->deadline) {
			if (wolfSSL_dtls_got_timeout(p->ssl) < 0 &&
			    wolfSSL_get_error(p->ssl, -1) != WOLFSSL_ERROR_WANT_READ) {
				S.st.failures++;
				peer_free(p, false);
			} else {
				arm_timer(p, now);
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: peer-wolfssl-server [--listen ADDR] [--port P] (--keys FILE | --hss FILE [--emse-id ID]\n"
		"         | --synthetic N [--seed S] --emse-id ID) [--suite ccm8|gcm|cbc|all] [--pool]\n"
		"         [--max-peers N] [--idle S] [--stats S]\n");
}

int main(int argc, char **argv)
{
	const char *listen_addr = "0.0.0.0", *keys = NULL, *emse_id = NULL, *suite = "all";
	unsigned port = 4433;
	size_t synthetic = 0;
	uint64_t seed = 1;
	double stats_every = 0;
	S.max_peers = 1 << 20;
	S.idle = 10;
	static const struct option opts[] = {
		{ "listen", 1, 0, 'l' }, { "port", 1, 0, 'p' }, { "keys", 1, 0, 'k' },
		{ "hss", 1, 0, 'k' }, { "emse-id", 1, 0, 'e' }, { "synthetic", 1, 0, 'n' },
		{ "seed", 1, 0, 's' }, { "suite", 1, 0, 'c' }, { "pool", 0, 0, 'P' },
		{ "max-peers", 1, 0, 'm' }, { "idle", 1, 0, 'i' }, { "stats", 1, 0, 'S' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_addr = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'k': keys = optarg; break;
		case 'e': emse_id = optarg; break;
		case 'n': synthetic = strtoull(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'c': suite = optarg; break;
		case 'P': S.pool = true; break;
		case 'm': S.max_peers = strtoull(optarg, NULL, 0); break;
		case 'i': S.idle = atof(optarg); break;
		case 'S': stats_every = atof(optarg); break;
		default: usage(); return o == 'h' ? 0 : 2;
		}
	}
	if ((keys && pop_load_auto(&S.pop, keys, emse_id) != 0) ||
	    (synthetic && pop_synthetic(&S.pop, synthetic, seed, emse_id) != 0))
		return 1;
	if (S.pop.n == 0) {
		usage();
		return 2;
	}
	pop_index(&S.pop);

	const char *list = !strcmp(suite, "ccm8") ? "PSK-AES128-CCM-8" :
			   !strcmp(suite, "gcm") ? "PSK-AES128-GCM-SHA256" :
			   !strcmp(suite, "cbc") ? "PSK-AES128-CBC-SHA256" :
			   "PSK-AES128-CCM-8:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256";
	/* wolfSSL draws randomness from crypto/rng.c: make the linker take it from libcrypto.a */
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	wolfSSL_Init();
	S.ctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
	if (!S.ctx || wolfSSL_CTX_set_cipher_list(S.ctx, list) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfSSL context set-up failed\n");
		return 1;
	}
	wolfSSL_CTX_set_psk_server_callback(S.ctx, psk_cb);
	wolfSSL_CTX_SetIORecv(S.ctx, io_recv);
	wolfSSL_CTX_SetIOSend(S.ctx, io_send);
	wolfSSL_CTX_set_session_cache_mode(S.ctx, WOLFSSL_SESS_CACHE_OFF);
	if (S.pool) {
		WOLFSSL *t = wolfSSL_new(S.ctx);
		unsigned sz = sizeof(S.blob);
		int r = t ? wolfSSL_dtls_export_state_only(t, S.blob, &sz) : -1;
		if (r <= 0) {
			fprintf(stderr, "state export failed (%d): running without a pool\n", r);
			S.pool = false;
		} else {
			S.blob_len = (unsigned)r;
		}
		wolfSSL_free(t);
	}

	struct sockaddr_storage la;
	socklen_t la_len;
	memset(&la, 0, sizeof(la));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&la;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&la;
	if (inet_pton(AF_INET, listen_addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		la_len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, listen_addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		la_len = sizeof(*a6);
	} else {
		fprintf(stderr, "bad --listen address %s\n", listen_addr);
		return 2;
	}
	S.fd = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int rcvbuf = 8 << 20;
	setsockopt(S.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&la, la_len) != 0) {
		fprintf(stderr, "bind %s:%u: %s\n", listen_addr, port, strerror(errno));
		return 1;
	}
	S.nbucket = 1 << 16;
	S.bucket = calloc(S.nbucket, sizeof(*S.bucket));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "peer-wolfssl-server: %zu UEs, listening on %s port %u, suites %s%s\n",
		S.pop.n, listen_addr, port, list, S.pool ? ", pooled objects" : "");

	double next_sweep = now_s() + 0.1, next_stats = stats_every > 0 ? now_s() + stats_every : 0;
	uint8_t buf[4096];
	while (!stop) {
		struct pollfd pfd = { .fd = S.fd, .events = POLLIN };
		poll(&pfd, 1, 50);
		for (int i = 0; i < 256; i++) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t n = recvfrom(S.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			if (n < 0)
				break;
			on_datagram(&from, flen, buf, (size_t)n, now_s());
		}
		double now = now_s();
		if (now >= next_sweep) {
			sweep(now);
			next_sweep = now + 0.1;
		}
		if (next_stats && now >= next_stats) {
			fprintf(stderr, "handshakes %llu failures %llu echoed %llu peers %zu\n",
				S.st.handshakes, S.st.failures, S.st.echoed, S.npeers);
			next_stats = now + stats_every;
		}
	}
	/* CPU time, so a run over a slow link still tells what a handshake costs this server */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
		     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	printf("{\"handshakes\": %llu, \"failures\": %llu, \"echoed\": %llu, \"closed\": %llu, "
	       "\"idle_freed\": %llu, \"dropped\": %llu, \"new_objects\": %llu, \"cpu_s\": %.3f, "
	       "\"handshakes_per_cpu_s\": %.0f, \"last_error\": %d}\n",
	       S.st.handshakes, S.st.failures, S.st.echoed, S.st.closed, S.st.idle_freed,
	       S.st.dropped, S.st.new_objects, cpu, cpu > 0 ? (double)S.st.handshakes / cpu : 0.0,
	       S.last_error);
	while (S.all)
		peer_free(S.all, false);
	for (size_t i = 0; i < S.nfree; i++)
		wolfSSL_free(S.free_ssl[i]);
	wolfSSL_CTX_free(S.ctx);
	pop_free(&S.pop);
	close(S.fd);
	return 0;
}
