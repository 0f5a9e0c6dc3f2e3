/* libFuzzer: the session file's entry decoder (dataplane/persist_file.c) on arbitrary bytes. The
 * file is authenticated before it is parsed, so this guards against our own bugs (and a file
 * sealed by a faulty writer): every accepted entry stays inside the input, respects its bounds,
 * and encodes back to exactly the bytes it came from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/persist.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1); /* exact size, so ASan sees any overread */
	memcpy(b, data, size);
	size_t off = 0;
	for (int i = 0; i < 64 && off < size; i++) {
		struct emse_persist_entry e;
		size_t used = 0;
		if (emse_persist_entry_decode(b + off, size - off, &used, &e) != 0)
			break;
		CHECK(used > 0 && used <= size - off && used <= EMSE_PERSIST_ENTRY_MAX);
		CHECK(e.rec.wseq <= EMSE_REC_SEQ_MAX);
		CHECK(!e.has_id || (e.id.app_id_len >= 1 && e.id.app_id_len <= E2M_APP_ID_MAX));
		CHECK(!(e.rec.flags & EMSE_REC_F_CID) ||
		      (e.cid_len >= EMSE_CID_MIN && e.cid_len <= EMSE_CID_MAX &&
		       emse_rec_peer_cid_len(&e.rec) <= EMSE_REC_PEER_CID_MAX));
		uint8_t again[EMSE_PERSIST_ENTRY_MAX];
		size_t n = emse_persist_entry_encode(&e, again, sizeof(again));
		CHECK(n == used && !memcmp(again, b + off, n));
		off += used;
	}
	free(b);
	return 0;
}
