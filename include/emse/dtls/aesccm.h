/* AES-128-CCM with an 8-byte tag and a 12-byte nonce (RFC 3610 with L = 3, M = 8: the DTLS
 * suites' CCM-8, RFC 6655), on AES-NI (dataplane/dtls/aesccm.c, docs/record.md).
 *
 * Why not wolfCrypt's: ~310-330 ns each way for a 100-byte record here. CCM's CBC-MAC is one
 * serial chain of AES calls whichever code runs it; this one runs the counter blocks of the
 * whole record as one interleaved batch beside that chain, and keeps partial blocks in registers.
 *
 * Only where emse_ccm_available() says so (AES-NI, SSE4.1); the caller keeps wolfCrypt
 * otherwise. Checked against RFC 3610's vectors shape and against wolfCrypt on random inputs
 * (tests/dataplane/dtls/test_aesccm.c, tests/fuzz/fuzz_aesccm.c). */
#ifndef EMSE_AESCCM_H
#define EMSE_AESCCM_H

#include <stddef.h>
#include <stdint.h>

/* The AES-128 schedule. Secret: wipe it with emse_ccm_wipe. */
struct emse_ccm_key {
	_Alignas(16) uint8_t rk[11][16];
};

#define EMSE_CCM_MAX_AAD 0xfeff      /* the two-byte AAD length encoding */
#define EMSE_CCM_MAX_TEXT 0xffffff   /* L = 3 */

int emse_ccm_available(void);
void emse_ccm_init(struct emse_ccm_key *k, const uint8_t key[16]);
void emse_ccm_wipe(struct emse_ccm_key *k);

/* 0, or -1 (nothing written) if aad_len or n is over its limit above. out may be in. */
int emse_ccm8_seal(const struct emse_ccm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[8]);
/* 0 and the plaintext in out; -1 if the tag does not verify (compared in constant time) or a
 * length is over its limit, and out is not written. out may be in. */
int emse_ccm8_open(const struct emse_ccm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, const uint8_t tag[8]);

#endif
