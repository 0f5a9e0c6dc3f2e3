/* The stateless DTLS 1.2 cookie in front of wolfSSL (WOLFSSL-NOTES.md): we check the cookie of a
 * ClientHello ourselves, against the current and the previous secret, and answer a ClientHello
 * without a valid cookie with a HelloVerifyRequest that is byte-identical to what wolfSSL 5.7.2
 * would send. Nothing is allocated, no state is kept per client.
 * cookie = HMAC-SHA-256(secret, peer || client_version || random || session_id || cipher_suites
 *                      || compression_methods); peer = the bytes given to wolfSSL_dtls_set_peer. */
#ifndef EMSE_COOKIE_H
#define EMSE_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include "emse/dtls/dtls_peek.h"

#define EMSE_COOKIE_LEN 32
#define EMSE_COOKIE_SECRET_LEN 32
#define EMSE_HVR_MAX (DTLS_RECORD_HDR + DTLS_HS_HDR + 3 + EMSE_COOKIE_LEN)

struct emse_cookie_keys {
	uint8_t cur[EMSE_COOKIE_SECRET_LEN];
	uint8_t prev[EMSE_COOKIE_SECRET_LEN];
	uint64_t rotated_at; /* caller's clock, for the rotation policy */
	uint32_t generation; /* incremented at each rotation */
	int has_prev;
};

/* Fresh random current secret, no previous. Returns 0 or -1 (RNG failure). */
int emse_cookie_init(struct emse_cookie_keys *k, uint64_t now);
/* current -> previous, new random current. */
int emse_cookie_rotate(struct emse_cookie_keys *k, uint64_t now);
void emse_cookie_wipe(struct emse_cookie_keys *k);

/* Computes the cookie of ch for this peer under secret. */
void emse_cookie_compute(const uint8_t secret[EMSE_COOKIE_SECRET_LEN], const uint8_t *peer,
			 size_t peer_len, const struct dtls_client_hello *ch,
			 uint8_t out[EMSE_COOKIE_LEN]);

/* Verifies ch's cookie (constant time). Returns the secret that matched (k->cur or k->prev),
 * or NULL. */
const uint8_t *emse_cookie_verify(const struct emse_cookie_keys *k, const uint8_t *peer,
				  size_t peer_len, const struct dtls_client_hello *ch);

/* Writes the HelloVerifyRequest answering ch (a record: header, handshake header, server_version
 * 0xfe 0xff, cookie) into out; returns its length (<= EMSE_HVR_MAX). */
size_t emse_cookie_build_hvr(const uint8_t secret[EMSE_COOKIE_SECRET_LEN], const uint8_t *peer,
			     size_t peer_len, const struct dtls_client_hello *ch,
			     uint8_t out[EMSE_HVR_MAX]);

#endif
