/* dataplane/net/proxy_v2.c checked byte by byte against haproxy's proxy-protocol.txt (2.2): the
 * expected headers below are written out by hand from the spec, not produced by the code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emse/net/proxy_v2.h"

static struct emse_flow flow4(void)
{
	struct emse_flow f;
	memset(&f, 0, sizeof(f));
	f.peer.family = f.local.family = 4;
	memcpy(f.peer.a, (uint8_t[]){198, 18, 0, 2}, 4);   /* UE */
	memcpy(f.local.a, (uint8_t[]){192, 0, 2, 1}, 4);   /* emse's listener */
	f.peer_port = 40000;
	f.local_port = 5684;
	return f;
}

static void test_ipv4_dgram(void **state)
{
	(void)state;
	struct emse_flow f = flow4();
	static const uint8_t want[] = {
		/* signature */
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21,             /* version 2, PROXY */
		0x12,             /* AF_INET, SOCK_DGRAM */
		0x00, 0x21,       /* 12 address bytes + (3 + 11) + (3 + 4) = 33 */
		198, 18, 0, 2,    /* source: the UE */
		192, 0, 2, 1,     /* destination: the listener */
		0x9C, 0x40,       /* 40000 */
		0x16, 0x34,       /* 5684 */
		0xE0, 0x00, 0x0B, 'a', 'p', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		0xE1, 0x00, 0x04, 0x0B, 0xAD, 0xCA, 0xFE,
	};
	uint8_t out[EMSE_PP2_MAX];
	int n = emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "app.example", 11,
				    0x0badcafe);
	assert_int_equal(n, sizeof(want));
	assert_int_equal(n, 16 + 33);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_ipv6_dgram(void **state)
{
	(void)state;
	struct emse_flow f;
	memset(&f, 0, sizeof(f));
	f.peer.family = f.local.family = 6;
	static const uint8_t ue[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
	static const uint8_t lis[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	memcpy(f.peer.a, ue, 16);
	memcpy(f.local.a, lis, 16);
	f.peer_port = 1;
	f.local_port = 65535;
	static const uint8_t want[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21,
		0x22,             /* AF_INET6, SOCK_DGRAM */
	};
	uint8_t out[EMSE_PP2_MAX];
	int n = emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "x", 1, 0xffffffff);
	/* 36 address bytes + TLV E0 (3 + 1) + TLV E1 (3 + 4) = 47 = 0x2F */
	assert_int_equal(n, 16 + 47);
	assert_memory_equal(out, want, 14);
	assert_int_equal(out[14], 0x00);
	assert_int_equal(out[15], 0x2F);
	assert_memory_equal(out + 16, ue, 16);
	assert_memory_equal(out + 32, lis, 16);
	assert_int_equal(out[48], 0x00);
	assert_int_equal(out[49], 0x01);
	assert_int_equal(out[50], 0xFF);
	assert_int_equal(out[51], 0xFF);
	static const uint8_t tlvs[] = {0xE0, 0x00, 0x01, 'x', 0xE1, 0x00, 0x04, 0xFF, 0xFF, 0xFF, 0xFF};
	assert_memory_equal(out + 52, tlvs, sizeof(tlvs));
}

static void test_stream_family_byte(void **state)
{
	(void)state;
	struct emse_flow f = flow4();
	uint8_t out[EMSE_PP2_MAX];
	assert_true(emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_STREAM, "a", 1, 0) > 0);
	assert_int_equal(out[13], 0x11);
}

static void test_longest_app_id_fits_max(void **state)
{
	(void)state;
	struct emse_flow f = flow4();
	f.peer.family = f.local.family = 6;
	char app[255];
	memset(app, 'a', sizeof(app));
	uint8_t out[EMSE_PP2_MAX];
	int n = emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, app, 255, 7);
	assert_int_equal(n, EMSE_PP2_MAX);
	assert_int_equal(out[14] << 8 | out[15], EMSE_PP2_MAX - 16);
	assert_int_equal(out[52], 0xE0);
	assert_int_equal(out[53] << 8 | out[54], 255);
}

/* RFC 9146 address change (docs/cid.md): TLV 0xE2 = previous address and port, length fixed */
static void test_moved_tlv(void **state)
{
	(void)state;
	struct emse_flow f = flow4(), prev = flow4();
	prev.peer.a[3] = 99;
	prev.peer_port = 0x1234;
	uint8_t out[EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX];
	int n = emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "app", 3, 7);
	assert_true(n > 0);
	int m = emse_proxy_v2_add_moved(out, (size_t)n, sizeof(out), &prev);
	assert_int_equal(m, n + 3 + 4 + 2);
	assert_int_equal(out[14] << 8 | out[15], m - 16);
	assert_int_equal(out[n], 0xE2);
	assert_int_equal(out[n + 1] << 8 | out[n + 2], 6);
	assert_memory_equal(out + n + 3, prev.peer.a, 4);
	assert_int_equal(out[n + 7] << 8 | out[n + 8], 0x1234);
	/* the header's source stays the new address */
	assert_memory_equal(out + 16, f.peer.a, 4);
	/* no room */
	assert_int_equal(emse_proxy_v2_add_moved(out, (size_t)n, (size_t)n + 8, &prev), -1);
	/* IPv6: 16 + 2 */
	f.peer.family = f.local.family = prev.peer.family = 6;
	n = emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "app", 3, 7);
	assert_int_equal(emse_proxy_v2_add_moved(out, (size_t)n, sizeof(out), &prev),
			 n + 3 + 18);
}

static void test_refusals(void **state)
{
	(void)state;
	struct emse_flow f = flow4();
	uint8_t out[EMSE_PP2_MAX];
	/* one byte short */
	assert_int_equal(emse_proxy_v2_write(out, 16 + 33 - 1, &f, EMSE_PP2_DGRAM, "app.example",
					     11, 1), -1);
	assert_int_equal(emse_proxy_v2_write(out, 16 + 33, &f, EMSE_PP2_DGRAM, "app.example", 11,
					     1), 16 + 33);
	assert_int_equal(emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "", 0, 1), -1);
	f.local.family = 6;
	assert_int_equal(emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "a", 1, 1), -1);
	f.peer.family = f.local.family = 0;
	assert_int_equal(emse_proxy_v2_write(out, sizeof(out), &f, EMSE_PP2_DGRAM, "a", 1, 1), -1);
	f = flow4();
	assert_int_equal(emse_proxy_v2_write(out, sizeof(out), &f, 3, "a", 1, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_dgram),
		cmocka_unit_test(test_ipv6_dgram),
		cmocka_unit_test(test_stream_family_byte),
		cmocka_unit_test(test_longest_app_id_fits_max),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_moved_tlv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
