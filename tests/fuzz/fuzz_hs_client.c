/* libFuzzer: emse-bench's own DTLS 1.2 client handshake (bench/gen/hs_client.c) and its tls12_cid
 * record opening (bench/gen/record.c) on arbitrary server datagrams. First byte: bits 0-1 the CID
 * offer (off, on, empty), bit 2 the suite; the rest is cut into datagrams (2-byte length
 * prefixes) fed to hsc_input after hsc_start, and each also to rec_open once keys exist. Checks:
 * no crash or overread (exact-size copies), the flight within its buffer, a failed or finished
 * handshake reads nothing more, and none finishes (the server's Finished is an HMAC under the
 * PSK over the transcript: no input forges it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/gen/hs_client.h"
#include "../../bench/gen/record.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hsc h;
	static struct rec_keys k;
	static const uint8_t psk[E2M_KEY_LEN] = "fuzz-hs-client-psk-0123456789ab";
	static const uint8_t cr[32] = { 1, 2, 3 }, cid[4] = { 0xc1, 0xd0, 0xc1, 0xd0 };
	if (size < 1)
		return 0;
	enum hsc_cid mode = (enum hsc_cid)(data[0] & 3) == 3 ? HSC_CID_ON : (enum hsc_cid)(data[0] & 3);
	CHECK(hsc_start(&h, data[0] & 4, "e2m.1@fuzz@x", 12, psk, mode, cr, cid, 4) == 0);
	memset(&k.cid_w, 0, sizeof(k.cid_w));
	k.cid_w_len = k.cid_r_len = 0;
	k.tag_len = 0; /* set when the keys are: then records are opened too */
	int over = 0;
	for (size_t off = 1; off + 2 <= size;) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		uint8_t *dg = malloc(n ? n : 1);
		memcpy(dg, data + off, n);
		off += n;
		enum hsc_rc rc = hsc_input(&h, dg, n, &k);
		uint16_t fl;
		hsc_flight(&h, &fl);
		CHECK(fl <= HSC_FLIGHT_MAX);
		CHECK(rc != HSC_DONE);
		if (over)
			CHECK(rc == HSC_WANT);
		if (rc < 0)
			over = 1;
		if (k.tag_len && n >= REC_HDR) {
			uint8_t *pt = malloc(n);
			uint8_t type;
			int r = rec_open(&k, dg, (uint16_t)(n > 65535 ? 65535 : n), pt, &type);
			CHECK(r < (int)n);
			free(pt);
		}
		free(dg);
	}
	return 0;
}
