/* AES-128-GCM for short records, on AES-NI and PCLMULQDQ (dataplane/dtls/aesgcm.c, docs/record.md).
 *
 * Why not wolfCrypt's: below 128 bytes its AES-NI GCM runs one block at a time and one GHASH
 * reduction per block (~120 ns each way for a 100-byte record here). This one encrypts the tag
 * block and up to seven data blocks in one interleaved batch and reduces GHASH once per eight
 * blocks, against powers of H kept with the key schedule.
 *
 * Only for CPUs with AES-NI, PCLMULQDQ and SSE4.1: emse_gcm_available() says so at run time, and
 * the caller keeps wolfCrypt otherwise. The functions below must not be called when it returns 0.
 * Checked against NIST's test vectors and against wolfCrypt on random inputs (tests/dataplane/
 * test_aesgcm.c, tests/fuzz/fuzz_aesgcm.c). */
#ifndef EMSE_AESGCM_H
#define EMSE_AESGCM_H

#include <stddef.h>
#include <stdint.h>

/* H^1..H^11: a short record is up to eleven GHASH blocks, all reduced once: seven data blocks,
 * the lengths, and up to three of AAD (a plain record's 13 bytes are one; RFC 9146's tls12_cid
 * AAD, 23 + CID length, two or three) */
#define EMSE_GCM_HPOWERS 11
#define EMSE_GCM_SHORT_AAD 48

/* An expanded key: the AES-128 schedule and H^11..H^1 (byte-reflected, highest first, then zero
 * blocks so that four consecutive powers can be loaded at once from any start). Secret: wipe it
 * with emse_gcm_wipe. 512 bytes. */
struct emse_gcm_key {
	_Alignas(64) uint8_t rk[11][16];
	_Alignas(64) uint8_t hd[EMSE_GCM_HPOWERS + 7][16];
};

/* 1 if this CPU runs the code below (AES-NI, PCLMULQDQ, SSE4.1); checked once. */
int emse_gcm_available(void);

/* 1 if records of up to 112 bytes take the AVX-512 path (VAES, VPCLMULQDQ: four blocks per
 * instruction, masked loads and stores); chosen at start-up where the CPU and OS allow it. */
int emse_gcm_wide(void);
/* For tests and benchmarks: turn the wide path off (0) or back on where supported; returns the
 * previous setting. Not for use while other threads seal or open. */
int emse_gcm_set_wide(int on);

void emse_gcm_init(struct emse_gcm_key *k, const uint8_t key[16]);
void emse_gcm_wipe(struct emse_gcm_key *k);

/* 96-bit nonce, 16-byte tag. out may be in (in place); any lengths. */
void emse_gcm_seal(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);
/* 0, and the plaintext in out; or -1 if the tag does not verify, and out is not written. The tag
 * is compared in constant time. out may be in. */
int emse_gcm_open(const struct emse_gcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
		  size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, const uint8_t tag[16]);

#endif
