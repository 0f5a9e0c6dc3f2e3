/* dataplane/net/net.c: every verdict and drop reason on crafted frames. Frames are built here with the
 * test's own checksum code (not net.c's), and two literal frames were computed by an independent
 * Python script, so a checksum bug in net.c cannot hide behind itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emse/net/net.h"

static const uint8_t OUR_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t OUR4[4] = {198, 18, 0, 1};
static const uint8_t PEER4[4] = {198, 18, 0, 2};
static const uint8_t OUR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t PEER6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const uint8_t SNM6[16] = {0xff, 0x02, [11] = 1, [12] = 0xff, [13] = 0, [14] = 0, [15] = 1};
static const uint8_t SNM_MAC[6] = {0x33, 0x33, 0xff, 0, 0, 1};

/* Literal frames from an independent script (Python struct + RFC 1071 sum): 198.18.0.2:40000 ->
 * 198.18.0.1:5684 "hello", and the same over IPv6 2001:db8::2 -> 2001:db8::1. */
static const uint8_t KNOWN_UDP4[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
	0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x9c, 0x70, 0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12,
	0x00, 0x01, 0x9c, 0x40, 0x16, 0x34, 0x00, 0x0d, 0x7d, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t KNOWN_UDP6[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x0d, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x9c, 0x40, 0x16, 0x34, 0x00, 0x0d, 0xae, 0x18, 0x68, 0x65,
	0x6c, 0x6c, 0x6f};

static struct emse_iface IFC;

static int setup(void **state)
{
	(void)state;
	memset(&IFC, 0, sizeof(IFC));
	memcpy(IFC.mac, OUR_MAC, 6);
	IFC.n4 = 2;
	memcpy(IFC.ip4[0], (uint8_t[]){10, 9, 9, 9}, 4);
	memcpy(IFC.ip4[1], OUR4, 4);
	IFC.n6 = 1;
	memcpy(IFC.ip6[0], OUR6, 16);
	IFC.hop_limit = 64;
	return 0;
}

/* ---- the test's own checksum: 32-bit accumulation over bytes, one fold at the end ---- */
static uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}
static uint16_t ref_fin(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
static uint16_t ref_l4(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
		       const uint8_t *l4, size_t n)
{
	uint32_t s = ref_sum(0, src, alen);
	s = ref_sum(s, dst, alen);
	s += proto + (uint32_t)n;
	return ref_fin(ref_sum(s, l4, n));
}
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ---- frame builders ---- */
static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

/* IPv4 header with a correct checksum; proto payload of l4len follows. */
static void ip4(uint8_t *ip, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t l4len)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, 0x4242);
	put16(ip + 6, 0x4000);
	ip[8] = 61;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, ref_fin(ref_sum(0, ip, 20)));
}
static void ip4_fix(uint8_t *ip)
{
	put16(ip + 10, 0);
	put16(ip + 10, ref_fin(ref_sum(0, ip, 20)));
}

static size_t udp4(uint8_t *f, const uint8_t *src, const uint8_t *dst, const char *pl)
{
	size_t n = strlen(pl), o = eth(f, OUR_MAC, PEER_MAC, 0x0800);
	ip4(f + o, src, dst, 17, 8 + n);
	uint8_t *u = f + o + 20;
	put16(u, 40000);
	put16(u + 2, 5684);
	put16(u + 4, (uint16_t)(8 + n));
	put16(u + 6, 0);
	memcpy(u + 8, pl, n);
	put16(u + 6, ref_l4(src, dst, 4, 17, u, 8 + n));
	return o + 20 + 8 + n;
}
static void udp4_fix(uint8_t *f)
{
	uint8_t *u = f + 34;
	size_t n = be16(u + 4);
	put16(u + 6, 0);
	put16(u + 6, ref_l4(f + 26, f + 30, 4, 17, u, n));
}

static size_t icmp4_echo(uint8_t *f, uint8_t type)
{
	size_t o = eth(f, OUR_MAC, PEER_MAC, 0x0800);
	const char *data = "abcdefghijklmnopqrstuvw";
	size_t n = 8 + strlen(data);
	ip4(f + o, PEER4, OUR4, 1, n);
	uint8_t *c = f + o + 20;
	c[0] = type;
	c[1] = 0;
	put16(c + 2, 0);
	put16(c + 4, 0x1111);
	put16(c + 6, 0x0007);
	memcpy(c + 8, data, strlen(data));
	put16(c + 2, ref_fin(ref_sum(0, c, n)));
	return o + 20 + n;
}

static void ip6(uint8_t *ip, const uint8_t *src, const uint8_t *dst, uint8_t nh, size_t plen,
		uint8_t hl)
{
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = hl;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

static size_t udp6(uint8_t *f, const uint8_t *src, const uint8_t *dst, const char *pl)
{
	size_t n = strlen(pl), o = eth(f, OUR_MAC, PEER_MAC, 0x86dd);
	ip6(f + o, src, dst, 17, 8 + n, 64);
	uint8_t *u = f + o + 40;
	put16(u, 40000);
	put16(u + 2, 5684);
	put16(u + 4, (uint16_t)(8 + n));
	put16(u + 6, 0);
	memcpy(u + 8, pl, n);
	put16(u + 6, ref_l4(src, dst, 16, 17, u, 8 + n));
	return o + 40 + 8 + n;
}

static void icmp6_fix(uint8_t *f)
{
	uint8_t *c = f + 54;
	size_t n = be16(f + 18);
	put16(c + 2, 0);
	put16(c + 2, ref_l4(f + 22, f + 38, 16, 58, c, n));
}

static size_t icmp6_echo(uint8_t *f, uint8_t type)
{
	size_t o = eth(f, OUR_MAC, PEER_MAC, 0x86dd);
	size_t n = 8 + 10;
	ip6(f + o, PEER6, OUR6, 58, n, 64);
	uint8_t *c = f + o + 40;
	memset(c, 0, n);
	c[0] = type;
	put16(c + 4, 0x2222);
	put16(c + 6, 3);
	memcpy(c + 8, "0123456789", 10);
	icmp6_fix(f);
	return o + 40 + n;
}

/* NS for target from PEER6; multicast to our solicited-node group, with a source LLA option. */
static size_t ns(uint8_t *f, const uint8_t *target, int multicast, int with_slla)
{
	size_t o = eth(f, multicast ? SNM_MAC : OUR_MAC, PEER_MAC, 0x86dd);
	size_t n = 24 + (with_slla ? 8 : 0);
	ip6(f + o, PEER6, multicast ? SNM6 : OUR6, 58, n, 255);
	uint8_t *c = f + o + 40;
	memset(c, 0, n);
	c[0] = 135;
	memcpy(c + 8, target, 16);
	if (with_slla) {
		c[24] = 1;
		c[25] = 1;
		memcpy(c + 26, (uint8_t[]){0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, 6);
	}
	icmp6_fix(f);
	return o + 40 + n;
}

static const uint8_t NA_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

/* NA from PEER6 to us for target, as a Linux neighbour answers our solicitation: Solicited and
 * Override, with the target link-layer address option (NA_MAC) when with_tlla. */
static size_t na(uint8_t *f, const uint8_t *target, int with_tlla)
{
	size_t o = eth(f, OUR_MAC, PEER_MAC, 0x86dd);
	size_t n = 24 + (with_tlla ? 8 : 0);
	ip6(f + o, PEER6, OUR6, 58, n, 255);
	uint8_t *c = f + o + 40;
	memset(c, 0, n);
	c[0] = 136;
	c[4] = 0x60;
	memcpy(c + 8, target, 16);
	if (with_tlla) {
		c[24] = 2;
		c[25] = 1;
		memcpy(c + 26, NA_MAC, 6);
	}
	icmp6_fix(f);
	return o + 40 + n;
}

static size_t arp(uint8_t *f, uint16_t op, const uint8_t *tpa)
{
	size_t o = eth(f, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PEER_MAC, 0x0806);
	uint8_t *a = f + o;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, PEER_MAC, 6);
	memcpy(a + 14, PEER4, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tpa, 4);
	return o + 28;
}

struct res {
	enum emse_net_verdict v;
	enum emse_drop_reason r;
	struct emse_flow flow;
	uint16_t len, off, plen;
};

static struct res run(uint8_t *f, size_t len)
{
	struct res x;
	memset(&x, 0, sizeof(x));
	x.len = (uint16_t)len;
	x.r = EMSE_DROP__COUNT;
	memset(&x.flow, 0xa5, sizeof(x.flow)); /* what classify leaves unset shows */
	x.v = emse_net_classify(&IFC, f, &x.len, &x.flow, &x.off, &x.plen, &x.r);
	return x;
}

static void expect_drop(uint8_t *f, size_t len, enum emse_drop_reason want)
{
	struct res x = run(f, len);
	if (x.v != EMSE_NET_DROP || x.r != want)
		fail_msg("verdict %d reason %s, wanted drop %s", x.v, emse_drop_name(x.r),
			 emse_drop_name(want));
}

static void expect_drop_or_udp(uint8_t *f, size_t len, int bad)
{
	if (bad)
		expect_drop(f, len, EMSE_DROP_UDP_CSUM);
	else
		assert_int_equal(run(f, len).v, EMSE_NET_UDP);
}

/* ---- checksum helpers ---- */
static void test_ip4_csum_known(void **state)
{
	(void)state;
	/* the classic worked example: checksum field 0xb861 */
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(emse_ip4_csum(h, 20), 0xb861);
	put16(h + 10, 0xb861);
	assert_int_equal(emse_ip4_csum(h, 20), 0);
}

static void test_udp_csum_known_packets(void **state)
{
	(void)state;
	struct emse_addr s, d;
	s.family = d.family = 4;
	memset(s.a, 0, 16);
	memset(d.a, 0, 16);
	memcpy(s.a, KNOWN_UDP4 + 26, 4);
	memcpy(d.a, KNOWN_UDP4 + 30, 4);
	uint8_t u[13];
	memcpy(u, KNOWN_UDP4 + 34, 13);
	assert_int_equal(emse_udp_csum(&s, &d, u, 13), 0); /* verifies as received */
	put16(u + 6, 0);
	assert_int_equal(emse_udp_csum(&s, &d, u, 13), 0x7d65); /* computes the known value */

	s.family = d.family = 6;
	memcpy(s.a, KNOWN_UDP6 + 22, 16);
	memcpy(d.a, KNOWN_UDP6 + 38, 16);
	memcpy(u, KNOWN_UDP6 + 54, 13);
	assert_int_equal(emse_udp_csum(&s, &d, u, 13), 0);
	put16(u + 6, 0);
	assert_int_equal(emse_udp_csum(&s, &d, u, 13), 0xae18);
}

/* net.c sums 32-bit native words into four 64-bit sums: every length (odd ones too), unaligned starts,
 * all-0xff data (the most carries) and random data agree with the byte-wise reference. */
static void test_csum_matches_reference(void **state)
{
	(void)state;
	static uint8_t buf[1700];
	uint32_t x = 12345;
	struct emse_addr s = {.family = 4}, d = {.family = 6};
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = pass ? (uint8_t)(x >> 16) : 0xff;
		}
		memset(s.a, pass ? 0x5a : 0xff, 16);
		memset(d.a, pass ? 0xa5 : 0xff, 16);
		for (size_t len = 0; len <= 1600; len++) {
			size_t off = len % 7;
			const uint8_t *p = buf + off;
			assert_int_equal(emse_ip4_csum(p, len), ref_fin(ref_sum(0, p, len)));
			d.family = 4;
			assert_int_equal(emse_udp_csum(&s, &d, p, len),
					 ref_l4(s.a, d.a, 4, 17, p, len));
			s.family = d.family = 6;
			assert_int_equal(emse_udp_csum(&s, &d, p, len),
					 ref_l4(s.a, d.a, 16, 17, p, len));
			s.family = 4;
		}
	}
}

static void test_known_frames_classify(void **state)
{
	(void)state;
	uint8_t f[128];
	memcpy(f, KNOWN_UDP4, sizeof(KNOWN_UDP4));
	struct res x = run(f, sizeof(KNOWN_UDP4));
	assert_int_equal(x.v, EMSE_NET_UDP);
	assert_int_equal(x.off, 42);
	assert_int_equal(x.plen, 5);
	assert_memory_equal(f + x.off, "hello", 5);
	assert_int_equal(x.flow.peer.family, 4);
	assert_memory_equal(x.flow.peer.a, PEER4, 4);
	assert_memory_equal(x.flow.local.a, OUR4, 4);
	assert_int_equal(x.flow.peer_port, 40000);
	assert_int_equal(x.flow.local_port, 5684);
	assert_memory_equal(x.flow.peer_mac, PEER_MAC, 6);
	assert_memory_equal(x.flow.local_mac, OUR_MAC, 6);

	memcpy(f, KNOWN_UDP6, sizeof(KNOWN_UDP6));
	x = run(f, sizeof(KNOWN_UDP6));
	assert_int_equal(x.v, EMSE_NET_UDP);
	assert_int_equal(x.off, 62);
	assert_int_equal(x.plen, 5);
	assert_int_equal(x.flow.peer.family, 6);
	assert_memory_equal(x.flow.peer.a, PEER6, 16);
	assert_memory_equal(x.flow.local.a, OUR6, 16);

	/* one bit flipped in the payload: the checksum must catch it */
	memcpy(f, KNOWN_UDP4, sizeof(KNOWN_UDP4));
	f[44] ^= 1;
	expect_drop(f, sizeof(KNOWN_UDP4), EMSE_DROP_UDP_CSUM);
	memcpy(f, KNOWN_UDP6, sizeof(KNOWN_UDP6));
	f[64] ^= 0x80;
	expect_drop(f, sizeof(KNOWN_UDP6), EMSE_DROP_UDP_CSUM);
}

/* classify_defer leaves a non-zero UDP checksum to the caller: the same verdict and flow as
 * classify, the check pending, and emse_net_udp_csum_ok telling good from bad. */
static void test_udp_csum_deferred(void **state)
{
	(void)state;
	static const struct {
		const uint8_t *frame;
		size_t len, flip;
	} known[] = {{KNOWN_UDP4, sizeof(KNOWN_UDP4), 44}, {KNOWN_UDP6, sizeof(KNOWN_UDP6), 64}};
	uint8_t f[256];
	for (size_t i = 0; i < 2; i++) {
		for (int bad = 0; bad < 2; bad++) {
			memcpy(f, known[i].frame, known[i].len);
			if (bad)
				f[known[i].flip] ^= 0x80;
			struct res x;
			memset(&x, 0, sizeof(x));
			x.len = (uint16_t)known[i].len;
			bool pending = false;
			x.v = emse_net_classify_defer(&IFC, f, &x.len, &x.flow, &x.off, &x.plen, &x.r,
						      &pending);
			assert_int_equal(x.v, EMSE_NET_UDP);
			assert_true(pending);
			assert_int_equal(emse_net_udp_csum_ok(&x.flow, f + x.off - 8), !bad);
			/* classify itself still verifies */
			expect_drop_or_udp(f, known[i].len, bad);
		}
	}
	/* IPv4 without a checksum (0): nothing to verify */
	uint8_t g[128];
	size_t n = udp4(g, PEER4, OUR4, "abcd");
	put16(g + 40, 0);
	struct res y;
	memset(&y, 0, sizeof(y));
	y.len = (uint16_t)n;
	bool pending = true;
	assert_int_equal(emse_net_classify_defer(&IFC, g, &y.len, &y.flow, &y.off, &y.plen, &y.r,
						 &pending),
			 EMSE_NET_UDP);
	assert_false(pending);
}

/* ---- Ethernet ---- */
static void test_eth(void **state)
{
	(void)state;
	uint8_t f[128];
	for (size_t l = 0; l < 14; l++) {
		memset(f, 0, sizeof(f));
		memcpy(f, OUR_MAC, 6);
		expect_drop(f, l, EMSE_DROP_RUNT);
	}
	size_t n = udp4(f, PEER4, OUR4, "x");
	memcpy(f, (uint8_t[]){0x02, 0, 0, 0, 0, 0x77}, 6);
	expect_drop(f, n, EMSE_DROP_ETH_DST);
	memcpy(f, (uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6); /* all-nodes: not ours to listen to */
	expect_drop(f, n, EMSE_DROP_ETH_DST);
	memcpy(f, (uint8_t[]){0x33, 0x33, 0xff, 0, 0, 2}, 6); /* someone else's solicited-node */
	expect_drop(f, n, EMSE_DROP_ETH_DST);
	memcpy(f, (uint8_t[]){0x01, 0, 0x5e, 0, 0, 1}, 6);
	expect_drop(f, n, EMSE_DROP_ETH_DST);

	/* broadcast destination MAC is accepted (the IPv4 destination still has to be ours) */
	n = udp4(f, PEER4, OUR4, "x");
	memset(f, 0xff, 6);
	assert_int_equal(run(f, n).v, EMSE_NET_UDP);

	n = udp4(f, PEER4, OUR4, "x");
	put16(f + 12, 0x8100); /* VLAN tag */
	expect_drop(f, n, EMSE_DROP_ETHERTYPE);
	put16(f + 12, 0x88cc); /* LLDP */
	expect_drop(f, n, EMSE_DROP_ETHERTYPE);
	put16(f + 12, 0x0842);
	expect_drop(f, n, EMSE_DROP_ETHERTYPE);
}

/* ---- ARP ---- */
static void test_arp_reply_bytes(void **state)
{
	(void)state;
	uint8_t f[64];
	memset(f, 0xee, sizeof(f)); /* padding bytes after the ARP body */
	size_t n = arp(f, 1, OUR4);
	struct res x = run(f, 60); /* padded to the Ethernet minimum */
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, 42);
	const uint8_t want[42] = {
		0x02, 0, 0, 0, 0, 0x02,                     /* eth dst: the asker */
		0x02, 0, 0, 0, 0, 0x01,                     /* eth src: us */
		0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, /* reply */
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,      /* sender: us */
		0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2,      /* target: the asker */
	};
	assert_int_equal(n, 42);
	assert_memory_equal(f, want, 42);

	/* the other configured address answers too */
	n = arp(f, 1, (uint8_t[]){10, 9, 9, 9});
	x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_memory_equal(f + 28, ((uint8_t[]){10, 9, 9, 9}), 4);
}

static void test_arp_drops(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t n = arp(f, 1, (uint8_t[]){198, 18, 0, 99});
	expect_drop(f, n, EMSE_DROP_ARP_NOT_OURS);
	n = arp(f, 2, OUR4); /* a reply (even one about our address) is not answered */
	expect_drop(f, n, EMSE_DROP_ARP_NOT_OURS);
	n = arp(f, 3, OUR4); /* RARP request */
	expect_drop(f, n, EMSE_DROP_ARP_NOT_OURS);
	n = arp(f, 1, OUR4);
	expect_drop(f, n - 1, EMSE_DROP_ARP_MALFORMED);
	n = arp(f, 1, OUR4);
	put16(f + 14, 6); /* htype IEEE 802 */
	expect_drop(f, n, EMSE_DROP_ARP_MALFORMED);
	n = arp(f, 1, OUR4);
	put16(f + 16, 0x86dd);
	expect_drop(f, n, EMSE_DROP_ARP_MALFORMED);
	n = arp(f, 1, OUR4);
	f[18] = 8;
	expect_drop(f, n, EMSE_DROP_ARP_MALFORMED);
	n = arp(f, 1, OUR4);
	f[19] = 16;
	expect_drop(f, n, EMSE_DROP_ARP_MALFORMED);
	n = arp(f, 1, OUR4);
	f[22] = 0x01; /* multicast sender hardware address */
	expect_drop(f, n, EMSE_DROP_ARP_MALFORMED);
}

/* ---- IPv4 ---- */
static void test_ip4_udp_ok_and_padding(void **state)
{
	(void)state;
	uint8_t f[128];
	memset(f, 0x5a, sizeof(f));
	size_t n = udp4(f, PEER4, OUR4, "hi");
	assert_int_equal(n, 44);
	struct res x = run(f, 60); /* 16 bytes of Ethernet padding */
	assert_int_equal(x.v, EMSE_NET_UDP);
	assert_int_equal(x.r, EMSE_DROP_NONE);
	assert_int_equal(x.off, 42);
	assert_int_equal(x.plen, 2);
	assert_int_equal(x.flow.peer_port, 40000);

	n = udp4(f, PEER4, OUR4, "zero checksum");
	put16(f + 40, 0); /* IPv4: no checksum is allowed */
	x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_UDP);
	assert_int_equal(x.plen, 13);
}

static void test_ip4_drops(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t n;

	n = udp4(f, PEER4, OUR4, "x");
	expect_drop(f, 33, EMSE_DROP_IP_MALFORMED); /* not even an IPv4 header */
	f[14] = 0x55;
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED); /* version 5 */
	n = udp4(f, PEER4, OUR4, "x");
	f[14] = 0x44;
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED); /* IHL 4 */
	n = udp4(f, PEER4, OUR4, "xxxxxxxxxxxx");
	f[14] = 0x46;
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_OPTIONS);
	n = udp4(f, PEER4, OUR4, "x");
	put16(f + 16, (uint16_t)(n - 14 + 1));
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED); /* total length beyond the frame */
	n = udp4(f, PEER4, OUR4, "x");
	put16(f + 16, 19);
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED); /* total length below the header */
	n = udp4(f, PEER4, OUR4, "x");
	f[24] ^= 0x01;
	expect_drop(f, n, EMSE_DROP_IP_CSUM);
	n = udp4(f, PEER4, OUR4, "x");
	put16(f + 20, 0x2000); /* MF */
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_FRAGMENT);
	n = udp4(f, PEER4, OUR4, "x");
	put16(f + 20, 0x0001); /* offset 8 */
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_FRAGMENT);
	n = udp4(f, PEER4, (uint8_t[]){198, 18, 0, 3}, "x");
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);
	n = udp4(f, PEER4, (uint8_t[]){255, 255, 255, 255}, "x");
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);

	const uint8_t bad_src[][4] = {{0, 0, 0, 0},     {127, 0, 0, 1},   {224, 0, 0, 1},
				      {239, 1, 2, 3},   {255, 255, 255, 255}, {240, 0, 0, 1}};
	for (size_t i = 0; i < sizeof(bad_src) / 4; i++) {
		n = udp4(f, bad_src[i], OUR4, "x");
		expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);
	}
	n = udp4(f, OUR4, OUR4, "x"); /* our own address as source */
	expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);
	n = udp4(f, PEER4, OUR4, "x");
	f[6] |= 1; /* multicast Ethernet source */
	expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);

	n = udp4(f, PEER4, OUR4, "x");
	f[23] = 6; /* TCP */
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_PROTO);
}

static void test_udp4_drops(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t n = udp4(f, PEER4, OUR4, "abcd");
	put16(f + 38, 11); /* UDP says 11, IP says 12 */
	udp4_fix(f);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
	n = udp4(f, PEER4, OUR4, "abcd");
	put16(f + 38, 13);
	udp4_fix(f);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
	/* IP payload shorter than a UDP header */
	n = udp4(f, PEER4, OUR4, "");
	put16(f + 16, 20 + 7);
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
	n = udp4(f, PEER4, OUR4, "abcd");
	put16(f + 34, 0); /* source port 0 */
	udp4_fix(f);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
	n = udp4(f, PEER4, OUR4, "abcd");
	put16(f + 36, 0);
	udp4_fix(f);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
	n = udp4(f, PEER4, OUR4, "abcd");
	f[41] ^= 0xff;
	expect_drop(f, n, EMSE_DROP_UDP_CSUM);
}

static void test_icmp4_echo(void **state)
{
	(void)state;
	uint8_t f[128], orig[128];
	memset(f, 0x77, sizeof(f));
	size_t n = icmp4_echo(f, 8);
	memcpy(orig, f, sizeof(f));
	struct res x = run(f, n + 6); /* with padding: the reply drops it */
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, n);
	assert_memory_equal(f, PEER_MAC, 6);
	assert_memory_equal(f + 6, OUR_MAC, 6);
	assert_int_equal(be16(f + 12), 0x0800);
	assert_memory_equal(f + 26, OUR4, 4);
	assert_memory_equal(f + 30, PEER4, 4);
	assert_int_equal(f[22], 64); /* our hop limit */
	assert_int_equal(ref_fin(ref_sum(0, f + 14, 20)), 0); /* IP header checksum valid */
	assert_int_equal(f[34], 0);                          /* echo reply */
	assert_int_equal(f[35], 0);
	assert_int_equal(ref_fin(ref_sum(0, f + 34, n - 34)), 0); /* ICMP checksum valid */
	assert_memory_equal(f + 38, orig + 38, n - 38);           /* id, seq, data echoed */

	n = icmp4_echo(f, 8);
	f[50] ^= 0x10;
	expect_drop(f, n, EMSE_DROP_ICMP_CSUM);
	n = icmp4_echo(f, 13); /* timestamp request */
	expect_drop(f, n, EMSE_DROP_ICMP_TYPE);
	n = icmp4_echo(f, 0); /* an echo reply is not answered */
	expect_drop(f, n, EMSE_DROP_ICMP_TYPE);
	n = icmp4_echo(f, 8);
	put16(f + 16, 20 + 7);
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_ICMP_MALFORMED);
	/* to a broadcast address: not ours, so no smurf amplification */
	n = icmp4_echo(f, 8);
	memcpy(f + 30, (uint8_t[]){198, 18, 0, 255}, 4);
	ip4_fix(f + 14);
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);
}

/* ---- IPv6 ---- */
static void test_ip6_udp(void **state)
{
	(void)state;
	uint8_t f[160];
	memset(f, 0, sizeof(f));
	size_t n = udp6(f, PEER6, OUR6, "dtls");
	struct res x = run(f, n + 3);
	assert_int_equal(x.v, EMSE_NET_UDP);
	assert_int_equal(x.off, 62);
	assert_int_equal(x.plen, 4);
	assert_memory_equal(x.flow.peer.a, PEER6, 16);
	assert_memory_equal(x.flow.local.a, OUR6, 16);

	n = udp6(f, PEER6, OUR6, "dtls");
	put16(f + 60, 0); /* zero checksum is not allowed over IPv6 */
	expect_drop(f, n, EMSE_DROP_UDP_CSUM);
	n = udp6(f, PEER6, OUR6, "dtls");
	f[65] ^= 4;
	expect_drop(f, n, EMSE_DROP_UDP_CSUM);
	n = udp6(f, PEER6, OUR6, "dtls");
	put16(f + 58, 11);
	expect_drop(f, n, EMSE_DROP_UDP_MALFORMED);
}

static void test_ip6_drops(void **state)
{
	(void)state;
	uint8_t f[160];
	size_t n = udp6(f, PEER6, OUR6, "x");
	expect_drop(f, 53, EMSE_DROP_IP_MALFORMED);
	f[14] = 0x40;
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED);
	n = udp6(f, PEER6, OUR6, "x");
	put16(f + 18, (uint16_t)(n - 54 + 1));
	expect_drop(f, n, EMSE_DROP_IP_MALFORMED);

	const uint8_t ext[] = {0, 43, 60, 51};
	for (size_t i = 0; i < sizeof(ext); i++) {
		n = udp6(f, PEER6, OUR6, "x");
		f[20] = ext[i];
		expect_drop(f, n, EMSE_DROP_IP_OPTIONS);
	}
	n = udp6(f, PEER6, OUR6, "x");
	f[20] = 44;
	expect_drop(f, n, EMSE_DROP_IP_FRAGMENT);
	n = udp6(f, PEER6, OUR6, "x");
	f[20] = 6;
	expect_drop(f, n, EMSE_DROP_PROTO);
	n = udp6(f, PEER6, OUR6, "x");
	f[20] = 59; /* no next header */
	expect_drop(f, n, EMSE_DROP_PROTO);

	uint8_t other[16];
	memcpy(other, OUR6, 16);
	other[15] = 9;
	n = udp6(f, PEER6, other, "x");
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);
	n = udp6(f, PEER6, SNM6, "x"); /* solicited-node group is for NS only */
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);

	const uint8_t bad[][16] = {{0},
				   {[15] = 1},
				   {0xff, 0x02, [15] = 1},
				   {[10] = 0xff, [11] = 0xff, 198, 18, 0, 2}};
	for (size_t i = 0; i < 4; i++) {
		n = udp6(f, bad[i], OUR6, "x");
		expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);
	}
	n = udp6(f, OUR6, OUR6, "x");
	expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);
}

static void test_icmp6_echo(void **state)
{
	(void)state;
	uint8_t f[160], orig[160];
	size_t n = icmp6_echo(f, 128);
	memcpy(orig, f, sizeof(f));
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, n);
	assert_memory_equal(f, PEER_MAC, 6);
	assert_memory_equal(f + 6, OUR_MAC, 6);
	assert_memory_equal(f + 22, OUR6, 16);
	assert_memory_equal(f + 38, PEER6, 16);
	assert_int_equal(f[21], 64);
	assert_int_equal(f[54], 129);
	assert_int_equal(ref_l4(f + 22, f + 38, 16, 58, f + 54, n - 54), 0);
	assert_memory_equal(f + 58, orig + 58, n - 58);

	n = icmp6_echo(f, 128);
	f[60] ^= 1;
	expect_drop(f, n, EMSE_DROP_ICMP_CSUM);
	n = icmp6_echo(f, 1); /* destination unreachable */
	expect_drop(f, n, EMSE_DROP_ICMP_TYPE);
	n = icmp6_echo(f, 136); /* an NA with hop limit 64: not sent on this link */
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = icmp6_echo(f, 128);
	put16(f + 18, 3);
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ICMP_MALFORMED);
	n = icmp6_echo(f, 128); /* echo request shorter than id + seq */
	put16(f + 18, 6);
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ICMP_MALFORMED);
}

static void test_ns_multicast_na(void **state)
{
	(void)state;
	uint8_t f[160];
	size_t n = ns(f, OUR6, 1, 1);
	assert_int_equal(n, 86);
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, 86);
	const uint8_t slla[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	assert_memory_equal(f, slla, 6); /* to the solicitor's link-layer address option */
	assert_memory_equal(f + 6, OUR_MAC, 6);
	assert_int_equal(be16(f + 12), 0x86dd);
	assert_int_equal(f[14], 0x60);
	assert_int_equal(be16(f + 18), 32);
	assert_int_equal(f[20], 58);
	assert_int_equal(f[21], 255);
	assert_memory_equal(f + 22, OUR6, 16);  /* from the target, not the multicast group */
	assert_memory_equal(f + 38, PEER6, 16);
	const uint8_t *c = f + 54;
	assert_int_equal(c[0], 136);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[4], 0x60); /* S and O, not R */
	assert_int_equal(c[5] | c[6] | c[7], 0);
	assert_memory_equal(c + 8, OUR6, 16);
	assert_int_equal(c[24], 2);
	assert_int_equal(c[25], 1);
	assert_memory_equal(c + 26, OUR_MAC, 6);
	assert_int_equal(ref_l4(f + 22, f + 38, 16, 58, c, 32), 0);
	/* the solicitor's address and MAC for the caller to learn (RFC 4861 7.2.3) */
	assert_int_equal(x.flow.peer.family, 6);
	assert_memory_equal(x.flow.peer.a, PEER6, 16);
	assert_memory_equal(x.flow.peer_mac, slla, 6);
}

static void test_ns_unicast_without_option(void **state)
{
	(void)state;
	uint8_t f[160];
	size_t n = ns(f, OUR6, 0, 0); /* NUD probe: 78 bytes, no room for the option */
	assert_int_equal(n, 78);
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, 78);
	assert_memory_equal(f, PEER_MAC, 6);
	assert_int_equal(be16(f + 18), 24);
	assert_int_equal(f[54], 136);
	assert_int_equal(f[58], 0x60);
	assert_int_equal(ref_l4(f + 22, f + 38, 16, 58, f + 54, 24), 0);
	assert_int_equal(x.flow.peer.family, 0); /* no option: nothing to learn */

	/* the same with padding: room for the option, so it is included */
	memset(f, 0, sizeof(f));
	n = ns(f, OUR6, 0, 0);
	x = run(f, 90);
	assert_int_equal(x.v, EMSE_NET_REPLY);
	assert_int_equal(x.len, 86);
	assert_int_equal(f[78], 2);
	assert_memory_equal(f + 80, OUR_MAC, 6);
	assert_int_equal(ref_l4(f + 22, f + 38, 16, 58, f + 54, 32), 0);
}

static void test_ns_drops(void **state)
{
	(void)state;
	uint8_t f[160];
	size_t n;
	uint8_t other[16];
	memcpy(other, OUR6, 16);
	other[15] = 7;

	n = ns(f, other, 0, 1);
	expect_drop(f, n, EMSE_DROP_ND_NOT_OURS);
	n = ns(f, OUR6, 1, 1);
	f[21] = 254; /* forwarded: not on-link */
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	f[55] = 1; /* code */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	f[79] = 0; /* option length 0 */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	f[79] = 2; /* option runs past the message */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	f[80] |= 1; /* multicast link-layer address */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	memcpy(f + 62, SNM6, 16); /* multicast target */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	put16(f + 18, 20); /* shorter than an NS */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 0); /* multicast NS without SLLA and no room to answer with TLLA */
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = ns(f, OUR6, 1, 1);
	f[70] ^= 1; /* checksum catches a corrupted target */
	expect_drop(f, n, EMSE_DROP_ICMP_CSUM);
	n = ns(f, OUR6, 1, 1);
	memset(f + 22, 0, 16); /* DAD probe (unspecified source): not defended */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_IP_SRC_BAD);
}

static void test_na_learnt(void **state)
{
	(void)state;
	uint8_t f[160], orig[160];
	size_t n = na(f, PEER6, 1);
	assert_int_equal(n, 86);
	memcpy(orig, f, n);
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_NEIGH);
	assert_int_equal(x.r, EMSE_DROP_NONE);
	assert_int_equal(x.flow.peer.family, 6);
	assert_memory_equal(x.flow.peer.a, PEER6, 16);
	assert_memory_equal(x.flow.peer_mac, NA_MAC, 6); /* the option's, not the frame's source */
	assert_int_equal(x.len, n);
	assert_memory_equal(f, orig, n); /* nothing written: there is no answer */

	/* another option before the target's address (a nonce, RFC 3971 type 14) is skipped */
	uint8_t *c = f + 54;
	memset(f, 0, sizeof(f));
	n = na(f, PEER6, 1);
	memmove(c + 32, c + 24, 8);
	c[24] = 14;
	c[25] = 1;
	memset(c + 26, 0x77, 6);
	put16(f + 18, 40);
	icmp6_fix(f);
	x = run(f, n + 8);
	assert_int_equal(x.v, EMSE_NET_NEIGH);
	assert_memory_equal(x.flow.peer_mac, NA_MAC, 6);

	/* Ethernet padding after the NA is not an option */
	memset(f, 0, sizeof(f));
	n = na(f, PEER6, 1);
	assert_int_equal(run(f, n + 10).v, EMSE_NET_NEIGH);
}

/* RFC 4861 7.1.2's checks, each failure counted under its reason and nothing learnt. */
static void test_na_drops(void **state)
{
	(void)state;
	uint8_t f[160];
	size_t n;

	n = na(f, PEER6, 1);
	f[21] = 254; /* routed here: not on-link */
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	f[21] = 64;
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	f[55] = 1; /* code */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	put16(f + 18, 20); /* shorter than an NA */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	put16(f + 18, 28); /* the option cut to 4 of its 8 octets */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	f[79] = 0; /* option length 0 */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	f[79] = 2; /* a 16-octet link-layer address option: not Ethernet's, and past the end */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1); /* two target link-layer addresses */
	memcpy(f + 86, f + 78, 8);
	put16(f + 18, 40);
	icmp6_fix(f);
	expect_drop(f, n + 8, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 1);
	f[80] |= 1; /* multicast link-layer address */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, SNM6, 1); /* multicast target */
	expect_drop(f, n, EMSE_DROP_ND_MALFORMED);
	n = na(f, PEER6, 0); /* no option: nothing to learn */
	expect_drop(f, n, EMSE_DROP_ND_NO_LLA);
	n = na(f, PEER6, 1);
	f[78] = 1; /* a source, not a target, link-layer address */
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_NO_LLA);
	n = na(f, OUR6, 1); /* someone claims our address */
	expect_drop(f, n, EMSE_DROP_ND_NOT_OURS);
	n = na(f, PEER6, 1); /* to our solicited-node group */
	memcpy(f, SNM_MAC, 6);
	memcpy(f + 38, SNM6, 16);
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_ND_NOT_OURS);
	n = na(f, PEER6, 1); /* to all nodes: unsolicited, never for us */
	memcpy(f, (uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6);
	expect_drop(f, n, EMSE_DROP_ETH_DST);
	n = na(f, PEER6, 1); /* to another address */
	f[53] = 9;
	icmp6_fix(f);
	expect_drop(f, n, EMSE_DROP_IP_NOT_OURS);
	n = na(f, PEER6, 1);
	f[80] ^= 2; /* the checksum catches a changed MAC */
	expect_drop(f, n, EMSE_DROP_ICMP_CSUM);
}

/* With EMSE_FUZZ_SEEDS=<dir> set, the valid frames are written to <dir>/net/ as seeds for the
 * fuzz_net harness (that is how tests/fuzz/corpus/net/ was made). */
static void dump_seed(const char *name, const uint8_t *p, size_t n)
{
	const char *root = getenv("EMSE_FUZZ_SEEDS");
	char path[512];
	if (!root)
		return;
	snprintf(path, sizeof(path), "%s/net/%s", root, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Every prefix of every valid frame must be dropped without reading past it: each prefix is
 * copied into an exact-size heap buffer, so the ASan build catches a single byte of overread. */
static void test_truncation_never_crashes(void **state)
{
	(void)state;
	uint8_t f[8][160];
	size_t n[8];
	n[0] = arp(f[0], 1, OUR4);
	n[1] = udp4(f[1], PEER4, OUR4, "truncate me");
	n[2] = icmp4_echo(f[2], 8);
	n[3] = udp6(f[3], PEER6, OUR6, "truncate me");
	n[4] = icmp6_echo(f[4], 128);
	n[5] = ns(f[5], OUR6, 1, 1);
	n[6] = na(f[6], PEER6, 1);
	n[7] = ns(f[7], OUR6, 0, 1);
	static const char *const names[8] = {"arp_request", "udp4", "icmp4_echo", "udp6",
					     "icmp6_echo", "ns_multicast", "na_solicited",
					     "ns_unicast_slla"};
	for (int k = 0; k < 8; k++)
		dump_seed(names[k], f[k], n[k]);
	dump_seed("known_udp4", KNOWN_UDP4, sizeof(KNOWN_UDP4));
	dump_seed("known_udp6", KNOWN_UDP6, sizeof(KNOWN_UDP6));
	for (int k = 0; k < 8; k++) {
		uint8_t *copy = malloc(n[k]);
		memcpy(copy, f[k], n[k]);
		struct res full = run(copy, n[k]);
		assert_int_not_equal(full.v, EMSE_NET_DROP);
		free(copy);
		for (size_t l = 0; l < n[k]; l++) {
			uint8_t *p = malloc(l ? l : 1);
			memcpy(p, f[k], l);
			struct res x = run(p, l);
			if (x.v != EMSE_NET_DROP)
				fail_msg("frame %d cut to %zu: verdict %d", k, l, x.v);
			assert_int_not_equal(x.r, EMSE_DROP_NONE);
			free(p);
		}
	}
}

static void check_write_udp(const struct emse_flow *fl, uint16_t want_hl)
{
	uint8_t buf[256];
	const char *msg = "a DTLS record, say";
	uint16_t pl = (uint16_t)strlen(msg);
	uint16_t hl = emse_net_hdr_len(fl);
	assert_int_equal(hl, want_hl);
	memcpy(buf + hl, msg, pl);
	assert_int_equal(emse_net_write_udp(&IFC, fl, buf, pl), hl);

	/* The receiver's view: an interface with the peer's MAC and address. */
	struct emse_iface peer;
	memset(&peer, 0, sizeof(peer));
	memcpy(peer.mac, fl->peer_mac, 6);
	if (fl->peer.family == 4) {
		peer.n4 = 1;
		memcpy(peer.ip4[0], fl->peer.a, 4);
		assert_int_equal(be16(buf + 20) & 0x4000, 0x4000); /* DF */
		assert_int_equal(ref_fin(ref_sum(0, buf + 14, 20)), 0);
		assert_int_equal(ref_l4(fl->local.a, fl->peer.a, 4, 17, buf + 34, 8u + pl), 0);
		assert_int_not_equal(be16(buf + 40), 0);
	} else {
		peer.n6 = 1;
		memcpy(peer.ip6[0], fl->peer.a, 16);
		assert_int_equal(ref_l4(fl->local.a, fl->peer.a, 16, 17, buf + 54, 8u + pl), 0);
	}
	uint16_t len = (uint16_t)(hl + pl), off, plen;
	struct emse_flow got;
	enum emse_drop_reason r;
	assert_int_equal(emse_net_classify(&peer, buf, &len, &got, &off, &plen, &r), EMSE_NET_UDP);
	assert_int_equal(off, hl);
	assert_int_equal(plen, pl);
	assert_memory_equal(buf + off, msg, pl);
	/* the same flow, seen from the other end */
	assert_true(emse_addr_eq(&got.peer, &fl->local));
	assert_true(emse_addr_eq(&got.local, &fl->peer));
	assert_int_equal(got.peer_port, fl->local_port);
	assert_int_equal(got.local_port, fl->peer_port);
	assert_memory_equal(got.peer_mac, fl->local_mac, 6);
	assert_memory_equal(got.local_mac, fl->peer_mac, 6);
}

static void test_write_udp_reparses(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t n = udp4(f, PEER4, OUR4, "ping");
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_UDP);
	check_write_udp(&x.flow, 42);

	n = udp6(f, PEER6, OUR6, "ping");
	x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_UDP);
	check_write_udp(&x.flow, 62);
}

/* The worker writes headers now and fills checksums at flush time: the frame must come out the
 * same as written in one go, for IPv4 and IPv6, and carry no checksum in between. */
static void test_write_udp_deferred_checksum(void **state)
{
	(void)state;
	uint8_t f[128], one[256], two[256];
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t n = fam == 4 ? udp4(f, PEER4, OUR4, "ping") : udp6(f, PEER6, OUR6, "ping");
		struct res x = run(f, n);
		assert_int_equal(x.v, EMSE_NET_UDP);
		uint16_t hl = emse_net_hdr_len(&x.flow), pl = 101;
		for (uint16_t i = 0; i < pl; i++)
			one[hl + i] = two[hl + i] = (uint8_t)(i * 29 + 3);
		assert_int_equal(emse_net_write_udp(&IFC, &x.flow, one, pl), hl);
		assert_int_equal(emse_net_write_udp_nocsum(&IFC, &x.flow, two, pl), hl);
		assert_int_equal(be16(two + hl - 2), 0);
		if (fam == 4)
			assert_int_equal(be16(two + 24), 0);
		emse_net_fill_csum(two);
		assert_memory_equal(one, two, (size_t)hl + pl);
	}
}

/* A datagram whose checksum computes to 0 must carry 0xffff: 0 would mean "no checksum" over
 * IPv4 and be dropped over IPv6. The payload is chosen to make the sum come out that way. */
static void test_write_udp_zero_checksum_sent_as_ffff(void **state)
{
	(void)state;
	uint8_t f[128], buf[128];
	size_t n = udp4(f, PEER4, OUR4, "ping");
	struct res x = run(f, n);
	assert_int_equal(x.v, EMSE_NET_UDP);
	for (int fam = 4; fam <= 6; fam += 2) {
		if (fam == 6) {
			n = udp6(f, PEER6, OUR6, "ping");
			x = run(f, n);
			assert_int_equal(x.v, EMSE_NET_UDP);
		}
		uint16_t hl = emse_net_hdr_len(&x.flow);
		memset(buf + hl, 0, 2);
		emse_net_write_udp(&IFC, &x.flow, buf, 2);
		/* with a zero payload the checksum is c0; a payload word equal to c0 adds the
		 * missing complement, so the sum becomes 0xffff and the checksum 0 */
		uint16_t c0 = be16(buf + hl - 2);
		put16(buf + hl, c0);
		emse_net_write_udp(&IFC, &x.flow, buf, 2);
		assert_int_equal(be16(buf + hl - 2), 0xffff);
		size_t alen = fam == 4 ? 4 : 16;
		assert_int_equal(ref_l4(x.flow.local.a, x.flow.peer.a, alen, 17, buf + hl - 8, 10), 0);
	}
}

static void test_addr_helpers(void **state)
{
	(void)state;
	struct emse_addr a, b;
	char s[64];
	assert_int_equal(emse_addr_parse("198.18.0.1", &a), 0);
	assert_int_equal(a.family, 4);
	assert_memory_equal(a.a, OUR4, 4);
	emse_addr_format(&a, s, sizeof(s));
	assert_string_equal(s, "198.18.0.1");
	assert_int_equal(emse_addr_parse("2001:db8::1", &b), 0);
	assert_int_equal(b.family, 6);
	assert_memory_equal(b.a, OUR6, 16);
	emse_addr_format(&b, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1");
	assert_false(emse_addr_eq(&a, &b));
	struct emse_addr c;
	assert_int_equal(emse_addr_parse("198.18.0.1", &c), 0);
	assert_true(emse_addr_eq(&a, &c));
	assert_int_equal(emse_addr_parse("198.18.0", &c), -1);
	assert_int_equal(emse_addr_parse("2001:db8:::1", &c), -1);
	assert_int_equal(emse_addr_parse("", &c), -1);
	emse_addr_format(&b, s, 5); /* truncated, still terminated */
	assert_string_equal(s, "2001");
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int i = 0; i < EMSE_DROP__COUNT; i++) {
		const char *n = emse_drop_name((enum emse_drop_reason)i);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, emse_drop_name((enum emse_drop_reason)j));
	}
	assert_string_equal(emse_drop_name(EMSE_DROP__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ip4_csum_known, setup),
		cmocka_unit_test_setup(test_udp_csum_known_packets, setup),
		cmocka_unit_test_setup(test_csum_matches_reference, setup),
		cmocka_unit_test_setup(test_known_frames_classify, setup),
		cmocka_unit_test_setup(test_udp_csum_deferred, setup),
		cmocka_unit_test_setup(test_eth, setup),
		cmocka_unit_test_setup(test_arp_reply_bytes, setup),
		cmocka_unit_test_setup(test_arp_drops, setup),
		cmocka_unit_test_setup(test_ip4_udp_ok_and_padding, setup),
		cmocka_unit_test_setup(test_ip4_drops, setup),
		cmocka_unit_test_setup(test_udp4_drops, setup),
		cmocka_unit_test_setup(test_icmp4_echo, setup),
		cmocka_unit_test_setup(test_ip6_udp, setup),
		cmocka_unit_test_setup(test_ip6_drops, setup),
		cmocka_unit_test_setup(test_icmp6_echo, setup),
		cmocka_unit_test_setup(test_ns_multicast_na, setup),
		cmocka_unit_test_setup(test_ns_unicast_without_option, setup),
		cmocka_unit_test_setup(test_ns_drops, setup),
		cmocka_unit_test_setup(test_na_learnt, setup),
		cmocka_unit_test_setup(test_na_drops, setup),
		cmocka_unit_test_setup(test_truncation_never_crashes, setup),
		cmocka_unit_test_setup(test_write_udp_reparses, setup),
		cmocka_unit_test_setup(test_write_udp_zero_checksum_sent_as_ffff, setup),
		cmocka_unit_test_setup(test_write_udp_deferred_checksum, setup),
		cmocka_unit_test_setup(test_addr_helpers, setup),
		cmocka_unit_test_setup(test_drop_names, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
