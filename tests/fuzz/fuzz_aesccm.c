/* libFuzzer: dataplane/dtls/aesccm.c against wolfCrypt's AES-CCM (8-byte tag, 12-byte nonce) on
 * arbitrary inputs, through aead_fuzz_one (aead_input.h): the same ciphertext and tag, the same
 * verdict on a record with one bit flipped, a refused open leaving the output as it was; in place
 * and out of place. */
#include "aead_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (emse_ccm_available())
		aead_fuzz_one(&aead_ccm, data, size);
	return 0;
}
