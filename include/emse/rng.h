/* The random source wolfSSL draws from (CUSTOM_RAND_GENERATE_BLOCK=emse_rand_block).
 * Normal mode: a per-thread AES-256-CTR stream keyed from OpenSSL's DRBG (seeded from getrandom)
 * and re-keyed every 1 MiB: no system call per draw and no per-object set-up. Replay mode: a per-thread AES-256-CTR stream keyed by
 * SHA-256(seed || stream id), so a replayed capture gives byte-identical output. */
#ifndef EMSE_RNG_H
#define EMSE_RNG_H

#include <stdint.h>
#include <stddef.h>

int emse_rand_block(unsigned char *out, unsigned int sz);

/* Switches the calling thread to a deterministic stream (replay mode only). */
int emse_rng_seed_thread(uint64_t seed, uint32_t stream);
/* Back to the CSPRNG for the calling thread. */
void emse_rng_unseed_thread(void);
/* Fills out from the same source as wolfSSL; returns 0 on success. */
int emse_random(void *out, size_t len);

#endif
