/* dataplane/cluster_fwd.c, the parts without a worker: start-up checks of [cluster] (key file,
 * ports), the forwarding decision, the frame a receiving node sends to the owner (classified by
 * net.c as the owner would, then opened with the owner's key), the envelope refused when it is
 * forged, stale, from no peer or from ourselves, and the UE's frame the owner rebuilds (classified
 * by net.c: the UE's address and port, our listener, the session's next-hop MAC), IPv4 and IPv6;
 * the timer's resolution of a peer's MAC (ARP for IPv4, Neighbour Solicitation for IPv6), answered
 * by the peer's net.c, learnt, published to the other workers and refreshed every second.
 * What the worker does with them is tests/e2e/cluster.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "emse/cluster_fwd.h"

#define HZ 1000000000ull
static const uint8_t KEY[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
				 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t MAC_A[6] = { 2, 0, 0, 0, 0, 0xa }, MAC_B[6] = { 2, 0, 0, 0, 0, 0xb };
static const uint8_t MAC_GW[6] = { 2, 0, 0, 0, 0, 0x99 };
static char keyfile[64];

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static struct emse_addr addr(const char *s)
{
	struct emse_addr a;
	assert_int_equal(emse_addr_parse(s, &a), 0);
	return a;
}

/* Node `me` of two (1: 198.18.3.1, 2: 198.18.3.2; 2001:db8:3::1/2), listener port 5684. */
static void conf(struct emse_config *c, uint8_t me, int v6)
{
	emse_config_defaults(c);
	char a[64];
	snprintf(a, sizeof(a), v6 ? "2001:db8:3::%u" : "198.18.3.%u", me);
	c->n_listeners = 1;
	strcpy(c->listeners[0].name, "v");
	c->listeners[0].addr = addr(a);
	c->listeners[0].port = 5684;
	c->listeners[0].cid = true;
	c->node_id = me;
	c->cluster_port = 7946;
	strcpy(c->cluster_key_file, keyfile);
	snprintf(a, sizeof(a), v6 ? "2001:db8:3::%u" : "198.18.3.%u", 3 - me);
	c->n_peers = 1;
	c->peers[0].node_id = (uint8_t)(3 - me);
	c->peers[0].addr = addr(a);
	c->peers[0].port = 7946;
}

static void iface(struct emse_iface *f, const struct emse_config *c, const uint8_t mac[6])
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, mac, 6);
	const struct emse_addr *a = &c->listeners[0].addr;
	if (a->family == 4)
		memcpy(f->ip4[f->n4++], a->a, 4);
	else
		memcpy(f->ip6[f->n6++], a->a, 16);
}

/* Nodes 1 (MAC_A) and 2 (MAC_B) as conf and iface make them. */
static void two_nodes(struct emse_config *c1, struct emse_config *c2, struct emse_iface *i1,
		      struct emse_iface *i2, int v6)
{
	conf(c1, 1, v6);
	conf(c2, 2, v6);
	iface(i1, c1, MAC_A);
	iface(i2, c2, MAC_B);
}

static int setup(void **state)
{
	(void)state;
	snprintf(keyfile, sizeof(keyfile), "/tmp/test_cluster_fwd.%d.key", (int)getpid());
	write_file(keyfile, KEY, sizeof(KEY));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(keyfile);
	return 0;
}

static void test_setup_refuses(void **state)
{
	(void)state;
	struct emse_config c;
	struct emse_cfwd f;
	char err[256];
	conf(&c, 1, 0);
	strcpy(c.cluster_key_file, "/nonexistent/cluster.key");
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[cluster] key_file"));
	char shortkey[sizeof(keyfile) + 8];
	snprintf(shortkey, sizeof(shortkey), "%s.short", keyfile);
	write_file(shortkey, KEY, 31);
	strcpy(c.cluster_key_file, shortkey);
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[cluster] key_file"));
	unlink(shortkey);

	conf(&c, 1, 0);
	c.cluster_port = 5684;
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[cluster] cluster_port"));
	conf(&c, 1, 0);
	c.has_forward = true;
	c.fwd_first = 7900;
	c.fwd_count = 100;
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "forward port range"));
	c.fwd_count = 46; /* 7900..7945: 7946 is just outside */
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), 0);
	emse_cfwd_fini(&f);
}

static void test_decision_and_clock(void **state)
{
	(void)state;
	struct emse_config c;
	struct emse_cfwd f;
	char err[256];
	conf(&c, 1, 0);
	c.n_peers = 2;
	c.peers[1].node_id = 7;
	c.peers[1].addr = addr("198.18.3.7");
	c.peers[1].port = 9000;
	assert_int_equal(emse_cfwd_setup(&f, &c, 5 * HZ, HZ, err, sizeof(err)), 0);
	assert_int_equal(emse_cfwd_peer(&f, 1), EMSE_CFWD_NO_PEER); /* ours: not forwarded */
	assert_int_equal(emse_cfwd_peer(&f, 2), 0);
	assert_int_equal(emse_cfwd_peer(&f, 7), 1);
	for (unsigned n = 0; n < 256; n++)
		if (n != 2 && n != 7)
			assert_int_equal(emse_cfwd_peer(&f, (uint8_t)n), EMSE_CFWD_NO_PEER);
	/* the clock: ms since the origin, also across billions of seconds of TSC */
	uint64_t t0 = emse_cfwd_now_ms(&f, 5 * HZ);
	assert_int_equal(emse_cfwd_now_ms(&f, 5 * HZ + HZ / 2) - t0, 500);
	assert_int_equal(emse_cfwd_now_ms(&f, 5 * HZ + 3000000000ull * HZ) - t0, 3000000000000ull);
	emse_cfwd_fini(&f);
	for (size_t i = 0; i < sizeof(f); i++) /* wiped, key and all */
		assert_int_equal(((uint8_t *)&f)[i], 0);
}

/* A tls12_cid datagram naming node 2, as a UE sends it. */
static size_t ue_dgram(uint8_t *d)
{
	uint8_t rec[60] = { 25, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 2, 0xaa, 0xbb, 0xcc };
	for (unsigned i = 15; i < sizeof(rec); i++)
		rec[i] = (uint8_t)(i * 3);
	memcpy(d, rec, sizeof(rec));
	return sizeof(rec);
}

/* Receiving node 1 wraps, owner node 2 classifies and opens; the owner rebuilds the UE's frame. */
static void round_trip(int v6, int in_place)
{
	struct emse_config c1, c2;
	struct emse_cfwd f1, f2;
	struct emse_iface i1, i2;
	char err[256];
	two_nodes(&c1, &c2, &i1, &i2, v6);
	assert_int_equal(emse_cfwd_setup(&f1, &c1, 0, HZ, err, sizeof(err)), 0);
	assert_int_equal(emse_cfwd_setup(&f2, &c2, 0, HZ, err, sizeof(err)), 0);
	unsigned p = emse_cfwd_peer(&f1, 2);
	assert_int_equal(p, 0);

	struct emse_flow ue = { .peer = addr(v6 ? "2001:db8:100::2" : "198.18.100.2"),
				.local = c1.listeners[0].addr, .peer_port = 40001,
				.local_port = 5684 };
	uint8_t dg[64], frame[512];
	size_t n = ue_dgram(dg);
	uint16_t hl = emse_cfwd_frame_hdr(&f1, p);
	assert_int_equal(hl, v6 ? 62 : 42);
	const uint8_t *src = dg;
	if (in_place) { /* where the worker seals it: the datagram already behind the headers */
		memcpy(frame + hl + EMSE_CLUSTER_HDR, dg, n);
		src = frame + hl + EMSE_CLUSTER_HDR;
	}
	uint64_t now = 1764820000000ull;
	uint16_t fl = emse_cfwd_wrap(&f1, &i1, p, MAC_B, &ue, now, src, n, frame, sizeof(frame));
	assert_int_equal(fl, hl + EMSE_CLUSTER_OVERHEAD + n);
	assert_int_equal(emse_cfwd_wrap(&f1, &i1, p, MAC_B, &ue, now, src, n, frame, fl - 1), 0);
	emse_net_fill_csum(frame); /* the worker's flush does this */

	/* the owner's port sees a UDP datagram from node 1 to its cluster port */
	struct emse_flow got;
	uint16_t len = fl, off, pl;
	enum emse_drop_reason why;
	assert_int_equal(emse_net_classify(&i2, frame, &len, &got, &off, &pl, &why), EMSE_NET_UDP);
	assert_int_equal(got.local_port, 7946);
	assert_int_equal(got.peer_port, 7946);
	assert_true(emse_addr_eq(&got.peer, &c1.listeners[0].addr));
	assert_memory_equal(got.peer_mac, MAC_A, 6);

	struct emse_cluster_meta m;
	const uint8_t *inner;
	size_t il;
	assert_int_equal(emse_cfwd_open(&f2, frame + off, pl, now + 1999, &m, &inner, &il),
			 EMSE_CFWD_OK);
	assert_int_equal(m.node, 1);
	assert_true(emse_addr_eq(&m.src, &ue.peer));
	assert_int_equal(m.sport, 40001);
	assert_true(emse_addr_eq(&m.dst, &ue.local));
	assert_int_equal(m.dport, 5684);
	assert_int_equal(il, n);
	assert_memory_equal(inner, dg, n);
	/* stale both ways */
	assert_int_equal(emse_cfwd_open(&f2, frame + off, pl, now + 2001, &m, &inner, &il),
			 EMSE_CFWD_STALE);
	assert_int_equal(emse_cfwd_open(&f2, frame + off, pl, now - 2001, &m, &inner, &il),
			 EMSE_CFWD_STALE);
	/* ourselves: node 1 cannot accept what node 1 sent (a reflected envelope) */
	assert_int_equal(emse_cfwd_open(&f1, frame + off, pl, now, &m, &inner, &il),
			 EMSE_CFWD_MALFORMED);
	/* one bit of the UE's address, of the datagram, of the MAC: refused */
	size_t flips[] = { 16, EMSE_CLUSTER_HDR + 11, pl - 1 };
	for (unsigned i = 0; i < 3; i++) {
		frame[off + flips[i]] ^= 1;
		assert_int_equal(emse_cfwd_open(&f2, frame + off, pl, now, &m, &inner, &il),
				 EMSE_CFWD_BAD_AUTH);
		frame[off + flips[i]] ^= 1;
	}
	assert_int_equal(emse_cfwd_open(&f2, frame + off, pl - 1, now, &m, &inner, &il),
			 EMSE_CFWD_MALFORMED);

	/* the owner rebuilds the UE's frame in place, in front of the inner datagram */
	assert_int_equal(emse_cfwd_open(&f2, frame + off, pl, now, &m, &inner, &il), EMSE_CFWD_OK);
	uint8_t *ih = (uint8_t *)inner - hl;
	assert_true(ih >= frame);
	uint16_t uh = emse_cfwd_ue_frame(&i2, &m, &c2.listeners[0].addr, 5684, MAC_GW, ih,
					 (uint16_t)il);
	assert_int_equal(uh, hl);
	len = (uint16_t)(uh + il);
	assert_int_equal(emse_net_classify(&i2, ih, &len, &got, &off, &pl, &why), EMSE_NET_UDP);
	assert_true(emse_addr_eq(&got.peer, &ue.peer));
	assert_int_equal(got.peer_port, 40001);
	assert_true(emse_addr_eq(&got.local, &c2.listeners[0].addr)); /* our listener, not node 1's */
	assert_int_equal(got.local_port, 5684);
	assert_memory_equal(got.peer_mac, MAC_GW, 6); /* answers go to the session's next hop */
	assert_int_equal(pl, n);
	assert_memory_equal(ih + off, dg, n);
	if (!v6) /* no UDP checksum over IPv4: the records carry their own tags */
		assert_int_equal(ih[40] | ih[41], 0);

	/* another cluster key: refused */
	struct emse_cfwd f3 = f2;
	uint8_t other[32] = { 1 };
	emse_cluster_key_init(&f3.key, other);
	assert_int_equal(emse_cfwd_wrap(&f1, &i1, p, MAC_B, &ue, now, dg, n, frame, sizeof(frame)),
			 fl);
	assert_int_equal(emse_cfwd_open(&f3, frame + hl, fl - hl, now, &m, &inner, &il),
			 EMSE_CFWD_BAD_AUTH);
	/* from a node that is not our peer (an insider with the key, but not configured) */
	f1.node_id = 5;
	assert_int_equal(emse_cfwd_wrap(&f1, &i1, p, MAC_B, &ue, now, dg, n, frame, sizeof(frame)),
			 fl);
	assert_int_equal(emse_cfwd_open(&f2, frame + hl, fl - hl, now, &m, &inner, &il),
			 EMSE_CFWD_MALFORMED);
	emse_cluster_key_wipe(&f3.key);
	emse_cfwd_fini(&f1);
	emse_cfwd_fini(&f2);
}

static void test_round_trip_v4(void **state)
{
	(void)state;
	round_trip(0, 0);
	round_trip(0, 1);
}

static void test_round_trip_v6(void **state)
{
	(void)state;
	round_trip(1, 0);
	round_trip(1, 1);
}

/* What emse_cfwd_tick does for peer 0, without a worker: the request due, its frame answered by
 * the peer (net.c on node 2), the answer learnt into this worker's table, the MAC published to a
 * worker whose table never saw it, asked again a second later. */
static void resolve(int v6)
{
	struct emse_config c1, c2;
	struct emse_cfwd f1;
	struct emse_iface i1, i2;
	char err[256];
	two_nodes(&c1, &c2, &i1, &i2, v6);
	assert_int_equal(emse_cfwd_setup(&f1, &c1, 0, HZ, err, sizeof(err)), 0);
	struct emse_fwd nt, other;
	memset(&nt, 0, sizeof(nt));
	memset(&other, 0, sizeof(other));
	uint64_t asked = 0, now = 5 * HZ;
	struct emse_addr from;
	uint8_t mac[6];
	assert_false(emse_cfwd_peer_mac(&f1, &other, 0, now, mac));
	assert_true(emse_cfwd_resolve(&f1, &i1, &nt, 0, now, &asked, &from));
	assert_int_equal(asked, now);
	assert_true(emse_addr_eq(&from, &c1.listeners[0].addr));
	assert_false(emse_cfwd_resolve(&f1, &i1, &nt, 0, now + HZ / 20, &asked, &from));

	uint8_t f[128];
	uint16_t len = emse_neigh_request(f, MAC_A, &from, &c1.peers[0].addr), off, pl;
	assert_int_equal(len, v6 ? EMSE_NS_LEN : 42);
	if (v6) { /* to the peer's solicited-node group, for the peer's address */
		assert_memory_equal(f, ((uint8_t[]){ 0x33, 0x33, 0xff, 0, 0, 2 }), 6);
		assert_int_equal(f[54], 135);
		assert_memory_equal(f + 62, c1.peers[0].addr.a, 16);
	}
	struct emse_flow fl;
	enum emse_drop_reason why;
	assert_int_equal(emse_net_classify(&i2, f, &len, &fl, &off, &pl, &why), EMSE_NET_REPLY);
	enum emse_net_verdict v = emse_net_classify(&i1, f, &len, &fl, &off, &pl, &why);
	if (v6) {
		assert_int_equal(v, EMSE_NET_NEIGH);
		assert_true(emse_neigh_learn(&nt, &fl.peer, fl.peer_mac));
	} else { /* an ARP reply: net.c drops it, the worker learns it before (emse_arp_sender) */
		struct emse_addr a;
		uint8_t m[6];
		assert_int_equal(v, EMSE_NET_DROP);
		assert_true(emse_arp_sender(&i1, f, len, &a, m));
		assert_true(emse_neigh_learn(&nt, &a, m));
	}
	/* known: not asked again within the second, and published for the other workers */
	assert_false(emse_cfwd_resolve(&f1, &i1, &nt, 0, now + HZ / 2, &asked, &from));
	assert_true(emse_cfwd_peer_mac(&f1, &other, 0, now + HZ / 2, mac));
	assert_memory_equal(mac, MAC_B, 6);
	assert_true(emse_cfwd_resolve(&f1, &i1, &nt, 0, now + HZ / 2 + HZ, &asked, &from));
	emse_cfwd_fini(&f1);
}

static void test_resolve_v4_peer(void **state)
{
	(void)state;
	resolve(0);
}

static void test_resolve_v6_peer(void **state)
{
	(void)state;
	resolve(1);
}

/* No address of the peer's family on our port: nothing to send from. */
static void test_wrap_needs_our_family(void **state)
{
	(void)state;
	struct emse_config c;
	struct emse_cfwd f;
	struct emse_iface i;
	char err[256];
	conf(&c, 1, 0);
	c.peers[0].addr = addr("2001:db8:3::2");
	iface(&i, &c, MAC_A);
	assert_int_equal(emse_cfwd_setup(&f, &c, 0, HZ, err, sizeof(err)), 0);
	struct emse_flow ue = { .peer = addr("198.18.100.2"), .local = c.listeners[0].addr,
				.peer_port = 1, .local_port = 5684 };
	uint8_t dg[64], frame[512];
	size_t n = ue_dgram(dg);
	assert_int_equal(emse_cfwd_wrap(&f, &i, 0, MAC_B, &ue, 1, dg, n, frame, sizeof(frame)), 0);
	struct emse_fwd nt;
	struct emse_addr from;
	uint64_t asked = 0;
	memset(&nt, 0, sizeof(nt));
	assert_false(emse_cfwd_resolve(&f, &i, &nt, 0, HZ, &asked, &from)); /* nor to ask from */
	emse_cfwd_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_refuses),
		cmocka_unit_test(test_decision_and_clock),
		cmocka_unit_test(test_round_trip_v4),
		cmocka_unit_test(test_round_trip_v6),
		cmocka_unit_test(test_wrap_needs_our_family),
		cmocka_unit_test(test_resolve_v4_peer),
		cmocka_unit_test(test_resolve_v6_peer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
