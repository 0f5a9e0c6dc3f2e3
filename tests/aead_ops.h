/* AES-GCM and AES-CCM-8 of ours (dataplane/dtls/aesgcm.c, aesccm.c) and wolfCrypt's as the reference,
 * behind one interface: the unit tests (tests/dataplane/dtls/aead_check.h) and the differential
 * fuzzers (tests/fuzz/aead_input.h) drive both ciphers through it. Keys live in a caller's
 * buffer of AEAD_KEY_MAX bytes, 64-aligned. */
#ifndef EMSE_TEST_AEAD_OPS_H
#define EMSE_TEST_AEAD_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "emse/dtls/aesccm.h"
#include "emse/dtls/aesgcm.h"

#define AEAD_KEY_MAX 512
_Static_assert(sizeof(struct emse_gcm_key) <= AEAD_KEY_MAX &&
		       sizeof(struct emse_ccm_key) <= AEAD_KEY_MAX,
	       "AEAD_KEY_MAX holds either key");

/* seal and open return 0 on success; open refuses with non-zero. The reference is keyed per
 * call. */
struct aead_ops {
	unsigned tag_len;
	void (*init)(void *key, const uint8_t k[16]);
	void (*wipe)(void *key);
	int (*seal)(const void *key, const uint8_t nonce[12], const uint8_t *aad, size_t an,
		    const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag);
	int (*open)(const void *key, const uint8_t nonce[12], const uint8_t *aad, size_t an,
		    const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag);
	int (*ref_seal)(const uint8_t k[16], const uint8_t nonce[12], const uint8_t *aad, size_t an,
			const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag);
	int (*ref_open)(const uint8_t k[16], const uint8_t nonce[12], const uint8_t *aad, size_t an,
			const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag);
};

static void aead_gcm_init(void *k, const uint8_t key[16]) { emse_gcm_init(k, key); }
static void aead_gcm_wipe(void *k) { emse_gcm_wipe(k); }
static int aead_gcm_seal(const void *k, const uint8_t nonce[12], const uint8_t *aad, size_t an,
			 const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
	emse_gcm_seal(k, nonce, aad, an, in, n, out, tag);
	return 0;
}
static int aead_gcm_open(const void *k, const uint8_t nonce[12], const uint8_t *aad, size_t an,
			 const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag)
{
	return emse_gcm_open(k, nonce, aad, an, in, n, out, tag);
}

static void aead_ccm_init(void *k, const uint8_t key[16]) { emse_ccm_init(k, key); }
static void aead_ccm_wipe(void *k) { emse_ccm_wipe(k); }
static int aead_ccm_seal(const void *k, const uint8_t nonce[12], const uint8_t *aad, size_t an,
			 const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
	return emse_ccm8_seal(k, nonce, aad, an, in, n, out, tag);
}
static int aead_ccm_open(const void *k, const uint8_t nonce[12], const uint8_t *aad, size_t an,
			 const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag)
{
	return emse_ccm8_open(k, nonce, aad, an, in, n, out, tag);
}

/* wolfCrypt, one call: gcm picks the mode, seal the direction (CCM wants no AAD pointer for an
 * empty AAD). 0 on success. */
static int aead_wolf(int gcm, int seal, const uint8_t key[16], const uint8_t nonce[12],
		     const uint8_t *aad, size_t an, const uint8_t *in, size_t n, uint8_t *out,
		     uint8_t *tag)
{
	Aes w;
	word32 tl = gcm ? 16 : 8;
	const uint8_t *a = gcm || an ? aad : NULL;
	int r = wc_AesInit(&w, NULL, INVALID_DEVID);
	if (r == 0)
		r = gcm ? wc_AesGcmSetKey(&w, key, 16) : wc_AesCcmSetKey(&w, key, 16);
	if (r == 0 && seal)
		r = gcm ? wc_AesGcmEncrypt(&w, out, in, (word32)n, nonce, 12, tag, tl, a, (word32)an)
			: wc_AesCcmEncrypt(&w, out, in, (word32)n, nonce, 12, tag, tl, a, (word32)an);
	else if (r == 0)
		r = gcm ? wc_AesGcmDecrypt(&w, out, in, (word32)n, nonce, 12, tag, tl, a, (word32)an)
			: wc_AesCcmDecrypt(&w, out, in, (word32)n, nonce, 12, tag, tl, a, (word32)an);
	wc_AesFree(&w);
	return r;
}
static int aead_wolf_gcm_seal(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
			      size_t an, const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
	return aead_wolf(1, 1, key, nonce, aad, an, in, n, out, tag);
}
static int aead_wolf_gcm_open(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
			      size_t an, const uint8_t *in, size_t n, uint8_t *out,
			      const uint8_t *tag)
{
	return aead_wolf(1, 0, key, nonce, aad, an, in, n, out, (uint8_t *)(uintptr_t)tag);
}
static int aead_wolf_ccm_seal(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
			      size_t an, const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
	return aead_wolf(0, 1, key, nonce, aad, an, in, n, out, tag);
}
static int aead_wolf_ccm_open(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
			      size_t an, const uint8_t *in, size_t n, uint8_t *out,
			      const uint8_t *tag)
{
	return aead_wolf(0, 0, key, nonce, aad, an, in, n, out, (uint8_t *)(uintptr_t)tag);
}

static const struct aead_ops aead_gcm = {16,
					 aead_gcm_init,
					 aead_gcm_wipe,
					 aead_gcm_seal,
					 aead_gcm_open,
					 aead_wolf_gcm_seal,
					 aead_wolf_gcm_open};
static const struct aead_ops aead_ccm = {8,
					 aead_ccm_init,
					 aead_ccm_wipe,
					 aead_ccm_seal,
					 aead_ccm_open,
					 aead_wolf_ccm_seal,
					 aead_wolf_ccm_open};

#endif
