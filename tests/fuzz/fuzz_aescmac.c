/* libFuzzer: dataplane/dtls/aescmac.c against OpenSSL's EVP_MAC "CMAC" (tests/cmac_ref.h) on
 * arbitrary inputs, key(16) || message: the same tag on the AES-NI path (where the CPU has it) and
 * on the OpenSSL AES_encrypt one; the message in an exact-size copy, so ASan sees any read past
 * its end (the partial last block is read in pieces, aes_ni.h's load_partial). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/aescmac.h"
#include "../cmac_ref.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	size_t n = size - 16;
	uint8_t *m = malloc(n ? n : 1);
	memcpy(m, data + 16, n);
	uint8_t ref[16], ours[16];
	CHECK(cmac_ref(data, m, n, ref) == 0);
	for (int ni = 0; ni < 2; ni++) {
		struct emse_cmac_key k;
		emse_cmac_init_impl(&k, data, ni);
		emse_cmac(&k, m, n, ours);
		CHECK(memcmp(ours, ref, 16) == 0);
		emse_cmac_wipe(&k);
	}
	free(m);
	return 0;
}
