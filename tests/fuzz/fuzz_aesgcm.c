/* libFuzzer: dataplane/dtls/aesgcm.c against wolfCrypt's AES-GCM on arbitrary inputs, through
 * aead_fuzz_one (aead_input.h): the same ciphertext and tag, the same verdict on a record with
 * one bit flipped, a refused open leaving the output as it was; in place and out of place, on
 * both of aesgcm.c's paths. */
#include "aead_input.h"

/* each input through both paths where the CPU has the wide one */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!emse_gcm_available())
		return 0;
	int wide = emse_gcm_set_wide(0);
	aead_fuzz_one(&aead_gcm, data, size);
	if (emse_gcm_set_wide(1), emse_gcm_wide())
		aead_fuzz_one(&aead_gcm, data, size);
	emse_gcm_set_wide(wide);
	return 0;
}
