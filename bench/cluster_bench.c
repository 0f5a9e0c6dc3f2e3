/* bench-cluster: what forwarding one datagram between nodes adds in CPU (docs/cluster.md,
 * "Forwarding between nodes"): the envelope's seal on the node that received the record and its
 * check on the owner (dataplane/cluster.c), CPU ns per datagram on this thread, for the datagram
 * sizes of a tls12_cid record with 16, 100 and 1000 bytes of plaintext (AES-128-GCM, 8-octet CID:
 * 13 + 8 header, 8 explicit nonce, 1 inner type, 16 tag). Compare with bench-record's "key cache
 * open" (the record open every record costs anyway). The extra frame on the wire (transmit on one
 * node, receive on the other) is not in this number.
 * Usage: bench-cluster [datagrams per measurement, default 500000] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emse/cluster.h"

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 500000;
	if (n <= 0) {
		fprintf(stderr, "usage: bench-cluster [datagrams per measurement]\n");
		return 2;
	}
	uint8_t key[EMSE_CLUSTER_KEY_LEN];
	memset(key, 0x5c, sizeof(key));
	struct emse_cluster_key k;
	emse_cluster_key_init(&k, key);
	memset(key, 0, sizeof(key));
	struct emse_cluster_meta m = { .node = 2, .ts_ms = 1, .sport = 40000, .dport = 5684 };
	m.src.family = m.dst.family = 4;
	static uint8_t dg[1100], env[1100 + EMSE_CLUSTER_OVERHEAD];
	static const unsigned plain[] = { 16, 100, 1000 };
	printf("bench-cluster: CPU ns per datagram, %ld per measurement\n", n);
	for (unsigned s = 0; s < sizeof(plain) / sizeof(plain[0]); s++) {
		size_t len = 13 + 8 + 8 + plain[s] + 1 + 16, el = 0;
		dg[0] = 25;
		double t0 = cpu_ns();
		for (long i = 0; i < n; i++) {
			m.ts_ms = (uint64_t)i;
			el = emse_cluster_seal(&k, &m, dg, len, env, sizeof(env));
		}
		double t1 = cpu_ns();
		struct emse_cluster_meta got;
		const uint8_t *p;
		size_t pl;
		long ok = 0;
		for (long i = 0; i < n; i++)
			ok += emse_cluster_open(&k, env, el, (uint64_t)n, (uint32_t)n, &got, &p, &pl) ==
			      EMSE_CLUSTER_OK;
		double t2 = cpu_ns();
		if (ok != n) {
			fprintf(stderr, "bench-cluster: an envelope did not open\n");
			return 1;
		}
		printf("  plaintext %4u B, datagram %4zu B, envelope %4zu B: seal %6.1f  open %6.1f  "
		       "both %6.1f\n",
		       plain[s], len, el, (t1 - t0) / n, (t2 - t1) / n, (t2 - t0) / n);
	}
	emse_cluster_key_wipe(&k);
	return 0;
}
