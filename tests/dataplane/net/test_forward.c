/* dataplane/net/forward.c's neighbours: the Neighbour Solicitation we write (every field, its
 * checksum summed here by the test's own code, not net.c's), the request by family, the table
 * that learns only what it asked for, and the whole IPv6 exchange: our NS answered by a neighbour
 * (net.c on the other side, as another emse node would), its advertisement classified on ours and
 * learnt. What a Linux neighbour answers is tests/e2e/dataplane_forward.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emse/net/forward.h"

static const uint8_t OUR_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t NB_MAC[6] = { 0x02, 0, 0x5e, 0, 0, 0x02 };
static const uint8_t OUR6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
/* a target whose last 24 bits tell the solicited-node group apart from its neighbours */
static const uint8_t NB6[16] = { 0x20, 0x01, 0x0d, 0xb8, [13] = 0xab, [14] = 0xcd, [15] = 0xef };
static const uint8_t OUR4[4] = { 198, 18, 0, 1 }, NB4[4] = { 198, 18, 0, 2 };
#define HZ 1000000ull

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* RFC 1071 over the RFC 8200 8.1 pseudo-header, byte by byte (independent of net.c's sum) */
static uint16_t ref_icmp6(const uint8_t *src, const uint8_t *dst, const uint8_t *l4, size_t n)
{
	uint32_t s = 58 + (uint32_t)n;
	for (int i = 0; i < 16; i++)
		s += (uint32_t)((i & 1) ? src[i] + dst[i] : (src[i] + dst[i]) << 8);
	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? l4[i] : (uint32_t)l4[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static struct emse_addr a6(const uint8_t *b)
{
	struct emse_addr a = { .family = 6 };
	memcpy(a.a, b, 16);
	return a;
}

static struct emse_addr a4(const uint8_t *b)
{
	struct emse_addr a = { .family = 4 };
	memcpy(a.a, b, 4);
	return a;
}

static void test_ns_request_bytes(void **state)
{
	(void)state;
	uint8_t f[EMSE_NS_LEN + 8];
	memset(f, 0xee, sizeof(f));
	assert_int_equal(emse_ns_request(f, OUR_MAC, OUR6, NB6), 86);
	assert_int_equal(f[86], 0xee); /* nothing past the frame */
	/* Ethernet: the target's solicited-node MAC (RFC 2464 7), from us, IPv6 */
	assert_memory_equal(f, ((uint8_t[]){ 0x33, 0x33, 0xff, 0xab, 0xcd, 0xef }), 6);
	assert_memory_equal(f + 6, OUR_MAC, 6);
	assert_int_equal(be16(f + 12), 0x86dd);
	const uint8_t *ip = f + 14, *c = ip + 40;
	assert_int_equal(ip[0], 0x60); /* version 6, traffic class and flow label 0 */
	assert_int_equal(ip[1] | ip[2] | ip[3], 0);
	assert_int_equal(be16(ip + 4), 32);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255);
	assert_memory_equal(ip + 8, OUR6, 16);
	static const uint8_t snm[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, 0xab, 0xcd, 0xef };
	assert_memory_equal(ip + 24, snm, 16);
	/* ICMPv6: NS, code 0, reserved 0, the target, source link-layer address option */
	assert_int_equal(c[0], 135);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[4] | c[5] | c[6] | c[7], 0);
	assert_memory_equal(c + 8, NB6, 16);
	assert_int_equal(c[24], 1);
	assert_int_equal(c[25], 1);
	assert_memory_equal(c + 26, OUR_MAC, 6);
	assert_int_not_equal(be16(c + 2), 0);
	assert_int_equal(ref_icmp6(ip + 8, ip + 24, c, 32), 0); /* the checksum verifies */
	uint8_t g[EMSE_NS_LEN];
	memcpy(g, f, sizeof(g));
	g[14 + 40 + 2] = g[14 + 40 + 3] = 0;
	assert_int_equal(ref_icmp6(ip + 8, ip + 24, g + 54, 32), be16(c + 2));
}

static void test_neigh_request_by_family(void **state)
{
	(void)state;
	uint8_t f[EMSE_NEIGH_REQ_MAX], g[EMSE_NEIGH_REQ_MAX];
	struct emse_addr s6 = a6(OUR6), t6 = a6(NB6), s4 = a4(OUR4), t4 = a4(NB4);
	assert_int_equal(emse_neigh_request(f, OUR_MAC, &s6, &t6), EMSE_NS_LEN);
	assert_int_equal(emse_ns_request(g, OUR_MAC, OUR6, NB6), EMSE_NS_LEN);
	assert_memory_equal(f, g, EMSE_NS_LEN);
	assert_int_equal(emse_neigh_request(f, OUR_MAC, &s4, &t4), 42);
	assert_int_equal(emse_arp_request(g, OUR_MAC, OUR4, NB4), 42);
	assert_memory_equal(f, g, 42);
}

/* Our NS for NB6, answered by the neighbour's net.c, its NA classified by ours and learnt. */
static void test_ns_answered_and_learnt(void **state)
{
	(void)state;
	struct emse_iface us = { .n6 = 1 }, nb = { .n6 = 1 };
	memcpy(us.mac, OUR_MAC, 6);
	memcpy(us.ip6[0], OUR6, 16);
	memcpy(nb.mac, NB_MAC, 6);
	memcpy(nb.ip6[0], NB6, 16);
	struct emse_fwd t;
	memset(&t, 0, sizeof(t));
	struct emse_addr target = a6(NB6), us6 = a6(OUR6);
	uint8_t mac[6];
	bool ask;
	assert_false(emse_neigh_lookup(&t, &target, mac, 1000, HZ, &ask));
	assert_true(ask);
	assert_false(emse_neigh_lookup(&t, &target, mac, 1000 + HZ / 20, HZ, &ask));
	assert_false(ask); /* asked again at most every 100 ms */

	uint8_t f[128];
	uint16_t len = emse_neigh_request(f, us.mac, &us6, &target), off, pl;
	struct emse_flow fl;
	enum emse_drop_reason why;
	assert_int_equal(emse_net_classify(&nb, f, &len, &fl, &off, &pl, &why), EMSE_NET_REPLY);
	/* the neighbour learns us from the option, as Linux does */
	assert_int_equal(fl.peer.family, 6);
	assert_memory_equal(fl.peer.a, OUR6, 16);
	assert_memory_equal(fl.peer_mac, OUR_MAC, 6);
	assert_memory_equal(f, OUR_MAC, 6);

	memset(&fl, 0, sizeof(fl));
	assert_int_equal(emse_net_classify(&us, f, &len, &fl, &off, &pl, &why), EMSE_NET_NEIGH);
	assert_true(emse_addr_eq(&fl.peer, &target));
	assert_memory_equal(fl.peer_mac, NB_MAC, 6);
	assert_true(emse_neigh_learn(&t, &fl.peer, fl.peer_mac));
	assert_true(emse_neigh_lookup(&t, &target, mac, 2000 + HZ, HZ, &ask));
	assert_memory_equal(mac, NB_MAC, 6);
	assert_false(ask);

	/* an advertisement of an address we never asked for fills nothing */
	struct emse_addr other = target;
	other.a[15] ^= 1;
	assert_false(emse_neigh_learn(&t, &other, NB_MAC));
	for (int i = 0; i < EMSE_NEIGH_MAX; i++)
		assert_false(t.neigh[i].addr.family && emse_addr_eq(&t.neigh[i].addr, &other));
	/* a neighbour that comes back with another MAC is learnt again */
	uint8_t moved[6] = { 0x02, 9, 9, 9, 9, 9 };
	assert_true(emse_neigh_learn(&t, &target, moved));
	assert_true(emse_neigh_lookup(&t, &target, mac, 3000 + HZ, HZ, &ask));
	assert_memory_equal(mac, moved, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ns_request_bytes),
		cmocka_unit_test(test_neigh_request_by_family),
		cmocka_unit_test(test_ns_answered_and_learnt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
