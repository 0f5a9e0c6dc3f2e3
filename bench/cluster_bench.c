/* bench-cluster: what forwarding one datagram between nodes adds in CPU (docs/cluster.md,
 * "Forwarding between nodes"): the envelope's seal on the node that received the record and its
 * check on the owner (dataplane/cluster.c), CPU ns per datagram on this thread, for the datagram
 * sizes of a tls12_cid record with 16, 100 and 1000 bytes of plaintext (AES-128-GCM, 8-octet CID:
 * 13 + 8 header, 8 explicit nonce, 1 inner type, 16 tag). Compare with bench-record's "key cache
 * open" (the record open every record costs anyway). The extra frame on the wire (transmit on one
 * node, receive on the other) is not in this number.
 * Then the whole software path of dataplane/cluster_fwd.c per forwarded datagram, on frames in
 * memory: on the receiving node the UE frame's UDP checksum, the outer headers and the seal, the
 * outer checksums (what the flush does); on the owner the outer frame's classify, the envelope's
 * check, the rebuilt UE frame and its classify. Not in it: the mbufs, the port's transmit and
 * receive of the extra frame (bench: tests/e2e/cluster.sh with CLUSTER_BENCH_RECORDS).
 * Usage: bench-cluster [datagrams per measurement, default 500000] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emse/cluster.h"
#include "emse/cluster_fwd.h"

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

	/* the frame path: node 1 (198.18.3.1) forwards to node 2 (198.18.3.2) */
	struct emse_cfwd c1, c2;
	struct emse_iface i1 = { .mac = { 2, 0, 0, 0, 0, 1 }, .n4 = 1, .ip4 = { { 198, 18, 3, 1 } } };
	struct emse_iface i2 = { .mac = { 2, 0, 0, 0, 0, 2 }, .n4 = 1, .ip4 = { { 198, 18, 3, 2 } } };
	memset(&c1, 0, sizeof(c1));
	memset(c1.peer_of, EMSE_CFWD_NO_PEER, sizeof(c1.peer_of));
	memset(key, 0x5c, sizeof(key));
	emse_cluster_key_init(&c1.key, key);
	memset(key, 0, sizeof(key));
	c1.port = 7946;
	c1.n_peers = 1;
	c2 = c1;
	c1.node_id = 1, c2.node_id = 2;
	c1.peer_of[2] = 0, c2.peer_of[1] = 0;
	c1.peers[0].addr.family = c2.peers[0].addr.family = 4;
	memcpy(c1.peers[0].addr.a, i2.ip4[0], 4);
	memcpy(c2.peers[0].addr.a, i1.ip4[0], 4);
	c1.peers[0].port = c2.peers[0].port = 7946;
	struct emse_flow ue = { .peer = { .family = 4, .a = { 198, 18, 100, 2 } },
				.local = { .family = 4, .a = { 198, 18, 3, 1 } }, .peer_port = 40000,
				.local_port = 5684 };
	const uint8_t gw[6] = { 2, 0, 0, 0, 0, 9 };
	printf("bench-cluster: the frame path of a forwarded datagram (cluster_fwd.c), CPU ns\n");
	for (unsigned s = 0; s < sizeof(plain) / sizeof(plain[0]); s++) {
		size_t len = 13 + 8 + 8 + plain[s] + 1 + 16;
		static uint8_t uef[1200], fr[1300];
		struct emse_flow uf = { .peer = { .family = 4, .a = { 198, 18, 3, 1 } },
					.local = ue.peer, .peer_port = 5684, .local_port = 40000 };
		memcpy(uf.peer_mac, i1.mac, 6);
		memcpy(uf.local_mac, gw, 6);
		memset(uef + 42, 0, len);
		uef[42] = 25;
		uef[42 + 11] = 2;
		emse_net_write_udp(&i1, &uf, uef, (uint16_t)len); /* what the UE sent node 1 */
		const struct emse_addr l2 = { .family = 4, .a = { 198, 18, 3, 2 } };
		static uint8_t work[1300];
		long bad = 0;
		uint16_t fl = 0;
		double t0 = cpu_ns();
		for (long i = 0; i < n; i++) {
			bad += !emse_net_udp_csum_ok(&ue, uef + 34);
			fl = emse_cfwd_wrap(&c1, &i1, 0, i2.mac, &ue, 1000, uef + 42, len, fr,
					    sizeof(fr));
			emse_net_fill_csum(fr);
		}
		double t1 = cpu_ns();
		for (long i = 0; i < n; i++) {
			memcpy(work, fr, fl); /* opened in place: a fresh copy each time (a few ns) */
			struct emse_flow got;
			uint16_t l = fl, off, pl;
			enum emse_drop_reason why;
			struct emse_cluster_meta mm;
			const uint8_t *in;
			size_t il;
			bad += emse_net_classify(&i2, work, &l, &got, &off, &pl, &why) != EMSE_NET_UDP;
			bad += emse_cfwd_open(&c2, work + off, pl, 1000, &mm, &in, &il) != EMSE_CFWD_OK;
			uint8_t *h = (uint8_t *)in - 42;
			emse_cfwd_ue_frame(&i2, &mm, &l2, 5684, gw, h, (uint16_t)il);
			l = (uint16_t)(42 + il);
			bad += emse_net_classify(&i2, h, &l, &got, &off, &pl, &why) != EMSE_NET_UDP;
		}
		double t2 = cpu_ns(), a = t1 - t0, b = t2 - t1;
		if (bad) {
			fprintf(stderr, "bench-cluster: %ld frames refused\n", bad);
			return 1;
		}
		printf("  datagram %4zu B: receiver %6.1f  owner %6.1f  both %6.1f\n", len, a / n, b / n,
		       (a + b) / n);
	}
	emse_cluster_key_wipe(&c1.key);
	emse_cluster_key_wipe(&c2.key);
	return 0;
}
