/* libFuzzer: the envelope between nodes (dataplane/cluster.c) on arbitrary cluster-port datagrams,
 * with a fixed key and clock (a crash must reproduce). Properties: the parser reads only inside
 * the input (ASan); an envelope is accepted only if its MAC is the right one, its length exact and
 * its time inside the window; an accepted envelope's datagram sealed again under its own header
 * gives the input back octet for octet; the node octet reader stays in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/cluster.h"
#include "../cmac_ref.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define NOW 1764820000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 0x42 };
	static uint8_t ck[16]; /* the CMAC key, by OpenSSL's HKDF */
	static int have_ck;
	if (!have_ck) {
		CHECK(cluster_cmac_key_ref(key, EMSE_CLUSTER_KDF_INFO, ck) == 0);
		have_ck = 1;
	}
	struct emse_cluster_key k;
	emse_cluster_key_init(&k, key);

	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *b = malloc(size ? size : 1);
	memcpy(b, data, size);
	(void)emse_cluster_node_of(b, size, 1 + (size ? b[0] % 16 : 0));

	struct emse_cluster_meta m;
	const uint8_t *p;
	size_t pl;
	enum emse_cluster_verdict v = emse_cluster_open(&k, b, size, NOW, 2000, &m, &p, &pl);
	if (v == EMSE_CLUSTER_OK || v == EMSE_CLUSTER_BAD_MAC || v == EMSE_CLUSTER_STALE) {
		uint8_t t[16];
		CHECK(size >= EMSE_CLUSTER_OVERHEAD);
		CHECK(cmac_ref(ck, b, size - EMSE_CLUSTER_MAC, t) == 0);
		int right = memcmp(t, b + size - EMSE_CLUSTER_MAC, EMSE_CLUSTER_MAC) == 0;
		CHECK(right == (v != EMSE_CLUSTER_BAD_MAC));
	}
	if (v == EMSE_CLUSTER_OK) {
		CHECK(p == b + EMSE_CLUSTER_HDR && pl == size - EMSE_CLUSTER_OVERHEAD);
		CHECK(m.ts_ms + 2000 >= NOW && m.ts_ms <= NOW + 2000);
		uint8_t *again = malloc(size);
		CHECK(emse_cluster_seal(&k, &m, p, pl, again, size) == size);
		CHECK(memcmp(again, b, size) == 0);
		free(again);
	}
	free(b);
	emse_cluster_key_wipe(&k);
	return 0;
}
