/* HMAC-SHA-256 (RFC 2104) from keyed states: the ipad and opad blocks are hashed once per key, so
 * each MAC afterwards costs the message's compressions plus one for the outer hash. A generic
 * HMAC (wolfCrypt's wc_HmacFinal, OpenSSL's HMAC()) re-hashes both pads on every use: two extra
 * SHA-256 compressions per MAC, and the TLS 1.2 PRF of one handshake makes a dozen MACs.
 * Alloc-free and lock-free (OpenSSL's SHA-256, SHA-NI where the CPU has it). */
#ifndef EMSE_HMAC256_H
#define EMSE_HMAC256_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#define EMSE_HMAC256_LEN 32

struct emse_hmac256 {
	SHA256_CTX inner, outer;
};

/* A piece of the message; a MAC covers the concatenation of its parts. */
struct emse_part {
	const void *p;
	size_t n;
};

void emse_hmac256_key(struct emse_hmac256 *k, const uint8_t *key, size_t len);
void emse_hmac256(const struct emse_hmac256 *k, const struct emse_part *parts, unsigned n_parts,
		  uint8_t out[EMSE_HMAC256_LEN]);
void emse_hmac256_wipe(struct emse_hmac256 *k);

/* TLS 1.2 PRF with SHA-256 (RFC 5246 5): P_SHA256(secret, label || seed1 || seed2), from a key
 * set up once with emse_hmac256_key(secret). */
void emse_tls12_prf_keyed(const struct emse_hmac256 *k, const char *label, const uint8_t *seed1,
			  size_t s1len, const uint8_t *seed2, size_t s2len, uint8_t *out,
			  size_t outlen);

#endif
