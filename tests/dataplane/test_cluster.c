/* dataplane/cluster.c: the envelope between nodes. Round trips (IPv4, IPv6); the layout and MAC
 * checked against an envelope built here from the header's text, the CMAC key derived with
 * OpenSSL's HKDF and the tag by its EVP_MAC "CMAC"; every single-bit change, truncation, length
 * lie, wrong key and stale timestamp refused; a version 1 envelope (HMAC-SHA-256) refused as
 * malformed; the node octet of tls12_cid records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "emse/cluster.h"
#include "../cmac_ref.h"

static const uint8_t KEY[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
#define NOW 1764820000000ull

static struct emse_cluster_meta meta4(void)
{
	struct emse_cluster_meta m = { .node = 2, .ts_ms = NOW, .sport = 40000, .dport = 5684 };
	m.src.family = m.dst.family = 4;
	memcpy(m.src.a, (uint8_t[]){ 198, 18, 7, 9 }, 4);
	memcpy(m.dst.a, (uint8_t[]){ 198, 19, 0, 1 }, 4);
	return m;
}

static void test_round_trip_and_layout(void **state)
{
	(void)state;
	struct emse_cluster_key k;
	emse_cluster_key_init(&k, KEY);
	uint8_t dg[40], env[200];
	for (unsigned i = 0; i < sizeof(dg); i++)
		dg[i] = (uint8_t)(i * 7);
	struct emse_cluster_meta m = meta4();
	size_t n = emse_cluster_seal(&k, &m, dg, sizeof(dg), env, sizeof(env));
	assert_int_equal(n, EMSE_CLUSTER_OVERHEAD + sizeof(dg));

	/* the same envelope written from the header comment, MAC by OpenSSL */
	uint8_t want[200] = { 0xE5, 0xC1, 2, 4, 2, 0, 0, 0 };
	for (int i = 0; i < 8; i++)
		want[8 + i] = (uint8_t)(NOW >> (56 - 8 * i));
	memcpy(want + 16, (uint8_t[]){ 198, 18, 7, 9 }, 4);
	want[32] = 40000 >> 8, want[33] = 40000 & 0xff;
	memcpy(want + 34, (uint8_t[]){ 198, 19, 0, 1 }, 4);
	want[50] = 5684 >> 8, want[51] = 5684 & 0xff;
	want[52] = 0, want[53] = sizeof(dg);
	memcpy(want + 54, dg, sizeof(dg));
	uint8_t ck[16]; /* the info string as the header's text gives it */
	assert_int_equal(cluster_cmac_key_ref(KEY, "emse cluster envelope v2 AES-128-CMAC", ck), 0);
	assert_int_equal(cmac_ref(ck, want, 54 + sizeof(dg), want + 54 + sizeof(dg)), 0);
	assert_memory_equal(env, want, n);

	struct emse_cluster_meta got;
	const uint8_t *p;
	size_t pl;
	assert_int_equal(emse_cluster_open(&k, env, n, NOW + 1500, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_OK);
	assert_int_equal(pl, sizeof(dg));
	assert_ptr_equal(p, env + EMSE_CLUSTER_HDR);
	assert_memory_equal(p, dg, sizeof(dg));
	assert_int_equal(got.node, 2);
	assert_int_equal(got.sport, 40000);
	assert_int_equal(got.dport, 5684);
	assert_memory_equal(&got.src, &m.src, sizeof(m.src));
	assert_memory_equal(&got.dst, &m.dst, sizeof(m.dst));

	/* IPv6, an empty datagram, sealed in place */
	m.src.family = m.dst.family = 6;
	memset(m.src.a, 0x20, 16);
	memset(m.dst.a, 0x21, 16);
	n = emse_cluster_seal(&k, &m, env + EMSE_CLUSTER_HDR, 0, env, EMSE_CLUSTER_OVERHEAD);
	assert_int_equal(n, EMSE_CLUSTER_OVERHEAD);
	assert_int_equal(emse_cluster_open(&k, env, n, NOW, 2000, &got, &p, &pl), EMSE_CLUSTER_OK);
	assert_int_equal(pl, 0);
	assert_memory_equal(got.src.a, m.src.a, 16);
	emse_cluster_key_wipe(&k);
}

static void test_refusals(void **state)
{
	(void)state;
	struct emse_cluster_key k, other;
	emse_cluster_key_init(&k, KEY);
	uint8_t k2[32];
	memcpy(k2, KEY, 32);
	k2[31] ^= 1;
	emse_cluster_key_init(&other, k2);
	uint8_t dg[30] = { 25 }, env[120], b[120];
	struct emse_cluster_meta m = meta4(), got;
	const uint8_t *p;
	size_t pl, n = emse_cluster_seal(&k, &m, dg, sizeof(dg), env, sizeof(env));
	assert_int_equal(n, EMSE_CLUSTER_OVERHEAD + sizeof(dg));

	/* every single bit: refused (the MAC, or the parser before it); for datagrams that leave the
	 * MAC's last block whole (10, 26, 74 octets: 64, 80, 128 in all) and partial */
	static const size_t lens[] = { 0, 2, 10, 26, 30, 74 };
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		uint8_t d[74], e[EMSE_CLUSTER_OVERHEAD + 74], f[sizeof(e)];
		for (size_t i = 0; i < lens[li]; i++)
			d[i] = (uint8_t)(i * 13 + 1);
		size_t en = emse_cluster_seal(&k, &m, d, lens[li], e, sizeof(e));
		assert_int_equal(en, EMSE_CLUSTER_OVERHEAD + lens[li]);
		assert_int_equal(emse_cluster_open(&k, e, en, NOW, 2000, &got, &p, &pl),
				 EMSE_CLUSTER_OK);
		for (size_t i = 0; i < en * 8; i++) {
			memcpy(f, e, en);
			f[i / 8] ^= (uint8_t)(1u << (i % 8));
			assert_int_not_equal(emse_cluster_open(&k, f, en, NOW, 2000, &got, &p, &pl),
					     EMSE_CLUSTER_OK);
		}
	}
	/* a bit in the datagram or the MAC is a MAC failure, not a parse one */
	memcpy(b, env, n);
	b[EMSE_CLUSTER_HDR + 3] ^= 1;
	assert_int_equal(emse_cluster_open(&k, b, n, NOW, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_BAD_MAC);
	assert_int_equal(emse_cluster_open(&other, env, n, NOW, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_BAD_MAC);
	/* every truncation and one extra octet */
	for (size_t l = 0; l < n; l++)
		assert_int_not_equal(emse_cluster_open(&k, env, l, NOW, 2000, &got, &p, &pl),
				     EMSE_CLUSTER_OK);
	memcpy(b, env, n);
	b[n] = 0;
	assert_int_equal(emse_cluster_open(&k, b, n + 1, NOW, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_MALFORMED);
	/* authentic but old or from the future */
	assert_int_equal(emse_cluster_open(&k, env, n, NOW + 2001, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_STALE);
	assert_int_equal(emse_cluster_open(&k, env, n, NOW - 2001, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_STALE);
	assert_int_equal(emse_cluster_open(&k, env, n, NOW - 2000, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_OK);
	/* a version 1 node's envelope (HMAC-SHA-256 under the key file, 16 octets): malformed, for the
	 * version octet, however authentic it was to that node */
	memcpy(b, env, n);
	b[2] = 1;
	unsigned ml = 0;
	uint8_t h[32];
	HMAC(EVP_sha256(), KEY, 32, b, n - EMSE_CLUSTER_MAC, h, &ml);
	memcpy(b + n - EMSE_CLUSTER_MAC, h, EMSE_CLUSTER_MAC);
	assert_int_equal(emse_cluster_open(&k, b, n, NOW, 2000, &got, &p, &pl),
			 EMSE_CLUSTER_MALFORMED);
	/* seal refuses what it cannot write */
	assert_int_equal(emse_cluster_seal(&k, &m, dg, sizeof(dg), b, n - 1), 0);
	m.dst.family = 6;
	assert_int_equal(emse_cluster_seal(&k, &m, dg, sizeof(dg), b, sizeof(b)), 0);
	emse_cluster_key_wipe(&k);
	emse_cluster_key_wipe(&other);
}

static void test_node_of(void **state)
{
	(void)state;
	uint8_t r[40] = { 25, 0xfe, 0xfd, 0, 1 };
	r[11] = 2;
	assert_int_equal(emse_cluster_node_of(r, sizeof(r), 8), 2);
	r[11] = 255;
	assert_int_equal(emse_cluster_node_of(r, sizeof(r), 8), 255);
	/* not tls12_cid: application_data, handshake */
	r[0] = 23;
	assert_int_equal(emse_cluster_node_of(r, sizeof(r), 8), -1);
	r[0] = 22;
	assert_int_equal(emse_cluster_node_of(r, sizeof(r), 8), -1);
	r[0] = 25;
	/* too short for the CID and the length */
	assert_int_equal(emse_cluster_node_of(r, 11 + 8 + 1, 8), -1);
	assert_int_equal(emse_cluster_node_of(r, 11 + 8 + 2, 8), 255);
	assert_int_equal(emse_cluster_node_of(r, 0, 8), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_layout),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_node_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
