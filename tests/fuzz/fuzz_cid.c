/* libFuzzer: our Connection IDs (dataplane/dtls/cid.c) on arbitrary bytes. The first byte picks the
 * length (4..16), the rest is a CID as it arrives in a tls12_cid record (octet 0: our node, 0).
 * Checks: no crash or overread (an exact-size copy); a CID that decodes is exactly the one its
 * fields encode to (the permutation is a bijection and the zero bits are checked), with the
 * fields in range; the software AES and AES-NI agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/cid.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct emse_cid_codec ni, soft;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[EMSE_CID_KEY_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
	if (!ni.node_id && !ni.slot_bits) {
		CHECK(emse_cid_codec_init(&ni, key, 0, 65536) == 0);
		CHECK(emse_cid_codec_init(&soft, key, 0, 65536) == 0);
		emse_cid_test_force_soft(&soft, key);
	}
	if (size < 1)
		return 0;
	unsigned len = EMSE_CID_MIN + data[0] % (EMSE_CID_MAX - EMSE_CID_MIN + 1);
	if (size - 1 < len)
		return 0;
	uint8_t *cid = malloc(len);
	memcpy(cid, data + 1, len);
	unsigned w, w2;
	uint32_t slot, check, slot2, check2;
	int r = emse_cid_decode(&ni, len, cid, &w, &slot, &check);
	CHECK(r == emse_cid_decode(&soft, len, cid, &w2, &slot2, &check2));
	if (r == 0) {
		CHECK(w == w2 && slot == slot2 && check == check2);
		CHECK(w < 64 && slot < 65536 && (check & ~emse_cid_check_mask(&ni, len)) == 0);
		uint8_t again[EMSE_CID_MAX];
		emse_cid_encode(&ni, len, w, slot, check, again);
		CHECK(memcmp(again, cid, len) == 0);
	}
	free(cid);
	return 0;
}
