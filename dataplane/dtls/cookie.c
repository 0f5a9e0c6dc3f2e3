/* Stateless DTLS 1.2 cookie, byte-compatible with wolfSSL 5.7.2 (include/emse/dtls/cookie.h).
 * wolfSSL's side, for whoever re-checks this after an upgrade: CreateDtls12Cookie in src/dtls.c
 * (HMAC-SHA-256 keyed by the cookie secret over peer || pv || random || session_id ||
 * cipher_suites || compression; only 32-byte cookies are ever compared) and
 * SendHelloVerifyRequest + AddHeaders in src/internal.c (record version = the object's version,
 * DTLS 1.2 for wolfDTLSv1_2_server_method; record sequence and message_seq copied from the
 * ClientHello by DtlsSetSeqNumForReply; server_version DTLS_MAJOR/DTLS_MINOR = 0xfe 0xff). */

#include <string.h>
#include <openssl/crypto.h>

#include "emse/dtls/cookie.h"
#include "emse/dtls/ct.h"
#include "emse/dtls/hmac256.h"
#include "emse/rng.h"

/* Keyed HMAC states of the secrets last used on this thread (hmac256.h: two compressions saved
 * per cookie). Two slots, because verification alternates between the current and the previous
 * secret. */
struct keyed {
	struct emse_hmac256 k;
	uint8_t secret[EMSE_COOKIE_SECRET_LEN];
	int used;
};
static _Thread_local struct keyed key_cache[2];
static _Thread_local unsigned key_next;

static const struct keyed *keyed_for(const uint8_t secret[EMSE_COOKIE_SECRET_LEN])
{
	/* CRYPTO_memcmp: the secrets are compared, not only the verdict (make ct) */
	for (int i = 0; i < 2; i++) {
		int same = key_cache[i].used &&
			   CRYPTO_memcmp(key_cache[i].secret, secret, EMSE_COOKIE_SECRET_LEN) == 0;
		EMSE_CT_PUBLIC(same); /* which cached key: changes only at a rotation */
		if (same)
			return &key_cache[i];
	}
	struct keyed *k = &key_cache[key_next++ & 1];
	emse_hmac256_key(&k->k, secret, EMSE_COOKIE_SECRET_LEN);
	memcpy(k->secret, secret, EMSE_COOKIE_SECRET_LEN);
	k->used = 1;
	return k;
}

static void cookie_mac(const uint8_t secret[EMSE_COOKIE_SECRET_LEN], const uint8_t *peer,
		       size_t peer_len, const struct dtls_client_hello *ch,
		       uint8_t out[EMSE_COOKIE_LEN])
{
	const struct emse_part parts[] = {
		{peer, peer_len},
		{ch->version, 2},
		{ch->random, 32},
		{ch->session_id, ch->session_id_len},
		{ch->suites, ch->suites_len},
		{ch->compression, ch->compression_len},
	};
	emse_hmac256(&keyed_for(secret)->k, parts, sizeof(parts) / sizeof(parts[0]), out);
}

int emse_cookie_init(struct emse_cookie_keys *k, uint64_t now)
{
	memset(k, 0, sizeof(*k));
	if (emse_random(k->cur, sizeof(k->cur)) != 0) {
		OPENSSL_cleanse(k, sizeof(*k));
		return -1;
	}
	k->rotated_at = now;
	return 0;
}

int emse_cookie_rotate(struct emse_cookie_keys *k, uint64_t now)
{
	uint8_t fresh[EMSE_COOKIE_SECRET_LEN];
	/* Draw first: on an RNG failure the keys stay as they were rather than half-rotated. */
	if (emse_random(fresh, sizeof(fresh)) != 0) {
		OPENSSL_cleanse(fresh, sizeof(fresh));
		return -1;
	}
	memcpy(k->prev, k->cur, sizeof(k->prev));
	memcpy(k->cur, fresh, sizeof(k->cur));
	OPENSSL_cleanse(fresh, sizeof(fresh));
	k->has_prev = 1;
	k->rotated_at = now;
	k->generation++;
	return 0;
}

void emse_cookie_wipe(struct emse_cookie_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
	/* this thread's keyed states too: they are as good as the secrets */
	OPENSSL_cleanse(key_cache, sizeof(key_cache));
}

void emse_cookie_compute(const uint8_t secret[EMSE_COOKIE_SECRET_LEN], const uint8_t *peer,
			 size_t peer_len, const struct dtls_client_hello *ch,
			 uint8_t out[EMSE_COOKIE_LEN])
{
	cookie_mac(secret, peer, peer_len, ch, out);
}

const uint8_t *emse_cookie_verify(const struct emse_cookie_keys *k, const uint8_t *peer,
				  size_t peer_len, const struct dtls_client_hello *ch)
{
	uint8_t want[EMSE_COOKIE_LEN];
	const uint8_t *match = NULL;
	/* wolfSSL compares only 32-byte cookies (CheckDtlsCookie); anything else is not one. */
	if (ch->cookie_len != EMSE_COOKIE_LEN || !ch->cookie)
		return NULL;
	cookie_mac(k->cur, peer, peer_len, ch, want);
	int bad = CRYPTO_memcmp(want, ch->cookie, EMSE_COOKIE_LEN);
	EMSE_CT_PUBLIC(bad);
	if (!bad) {
		match = k->cur;
	} else if (k->has_prev) {
		cookie_mac(k->prev, peer, peer_len, ch, want);
		bad = CRYPTO_memcmp(want, ch->cookie, EMSE_COOKIE_LEN);
		EMSE_CT_PUBLIC(bad);
		if (!bad)
			match = k->prev;
	}
	OPENSSL_cleanse(want, sizeof(want));
	return match;
}

size_t emse_cookie_build_hvr(const uint8_t secret[EMSE_COOKIE_SECRET_LEN], const uint8_t *peer,
			     size_t peer_len, const struct dtls_client_hello *ch,
			     uint8_t out[EMSE_HVR_MAX])
{
	const uint16_t body = 2 + 1 + EMSE_COOKIE_LEN;
	const uint16_t frag = DTLS_HS_HDR + body;
	uint8_t *p = out;

	*p++ = DTLS_CT_HANDSHAKE;
	*p++ = 0xfe; /* record version: the server object's, DTLS 1.2 */
	*p++ = 0xfd;
	*p++ = 0; /* epoch 0 */
	*p++ = 0;
	/* RFC 6347 4.2.1: the HVR echoes the ClientHello's record sequence number, so a server
	 * that keeps no state still never reuses one. */
	for (int i = 5; i >= 0; i--)
		*p++ = (uint8_t)(ch->record_seq >> (8 * i));
	*p++ = (uint8_t)(frag >> 8);
	*p++ = (uint8_t)frag;

	*p++ = DTLS_HS_HELLO_VERIFY;
	*p++ = 0; /* length, 24 bits */
	*p++ = (uint8_t)(body >> 8);
	*p++ = (uint8_t)body;
	*p++ = (uint8_t)(ch->message_seq >> 8);
	*p++ = (uint8_t)ch->message_seq;
	*p++ = 0; /* fragment offset */
	*p++ = 0;
	*p++ = 0;
	*p++ = 0; /* fragment length = length */
	*p++ = (uint8_t)(body >> 8);
	*p++ = (uint8_t)body;

	/* server_version 0xfeff whatever is negotiated later (RFC 6347 4.2.1; wolfSSL does so) */
	*p++ = 0xfe;
	*p++ = 0xff;
	*p++ = EMSE_COOKIE_LEN;
	emse_cookie_compute(secret, peer, peer_len, ch, p);
	p += EMSE_COOKIE_LEN;
	return (size_t)(p - out);
}
