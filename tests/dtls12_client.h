/* Test helper (header-only): the pieces of a DTLS 1.2 PSK client written apart from emse's own
 * encoders (issue 17: the conformance suite and the differential fuzzers judge emse against
 * them). Crypto is OpenSSL's (SHA-256, HMAC, AES-GCM, AES-CCM), never emse's. */
#ifndef EMSE_TEST_DTLS12_CLIENT_H
#define EMSE_TEST_DTLS12_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

enum { DC_CCS = 20, DC_ALERT = 21, DC_HS = 22, DC_APP = 23 };
enum { DC_HELLO_REQUEST = 0, DC_CH = 1, DC_SH = 2, DC_HVR = 3, DC_SKE = 12, DC_SHD = 14,
       DC_CKE = 16, DC_FIN = 20 };

static inline void dc_put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void dc_put24(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 16); dc_put16(p + 1, v); }
static inline void dc_put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline unsigned dc_get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static inline unsigned dc_get24(const uint8_t *p) { return (unsigned)p[0] << 16 | dc_get16(p + 1); }

/* TLS 1.2 PRF, P_SHA256 (RFC 5246 5); label + seeds up to 128 bytes */
static inline void dc_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *s1,
			  size_t s1len, const uint8_t *s2, size_t s2len, uint8_t *out, size_t outlen)
{
	uint8_t seed[128], a[32], blk[32], in[32 + 128];
	size_t ll = strlen(label), sl = ll + s1len + s2len;
	memcpy(seed, label, ll);
	memcpy(seed + ll, s1, s1len);
	if (s2len)
		memcpy(seed + ll + s1len, s2, s2len);
	unsigned alen = 32, bl = 32;
	HMAC(EVP_sha256(), secret, (int)slen, seed, sl, a, &alen);
	for (size_t off = 0; off < outlen; off += 32) {
		memcpy(in, a, 32);
		memcpy(in + 32, seed, sl);
		HMAC(EVP_sha256(), secret, (int)slen, in, 32 + sl, blk, &bl);
		memcpy(out + off, blk, outlen - off < 32 ? outlen - off : 32);
		HMAC(EVP_sha256(), secret, (int)slen, a, 32, a, &alen);
	}
}

/* One record: header + fragment. */
static inline size_t dc_record(uint8_t *out, uint8_t type, uint16_t epoch, uint64_t seq,
			       const uint8_t *frag, size_t len)
{
	out[0] = type;
	out[1] = 0xfe;
	out[2] = 0xfd;
	dc_put16(out + 3, epoch);
	dc_put48(out + 5, seq);
	dc_put16(out + 11, (unsigned)len);
	if (len)
		memmove(out + 13, frag, len);
	return 13 + len;
}

/* One unfragmented handshake message. */
static inline size_t dc_hsmsg(uint8_t *out, uint8_t type, uint16_t mseq, const uint8_t *body,
			      size_t blen)
{
	out[0] = type;
	dc_put24(out + 1, (unsigned)blen);
	dc_put16(out + 4, mseq);
	dc_put24(out + 6, 0);
	dc_put24(out + 9, (unsigned)blen);
	if (blen)
		memcpy(out + 12, body, blen);
	return 12 + blen;
}

/* AES-128-GCM (16-byte tag) or AES-128-CCM-8, 12-byte nonce, 13-byte AAD. 0 or -1. */
static inline int dc_aead(int gcm, int enc, const uint8_t key[16], const uint8_t nonce[12],
			  const uint8_t aad[13], const uint8_t *in, size_t n, uint8_t *out,
			  uint8_t *tag)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int ok, l, tl = gcm ? 16 : 8;
	ok = x && EVP_CipherInit_ex(x, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ccm(), NULL, NULL, NULL,
				    enc);
	ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL);
	if (!gcm)
		ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, tl, enc ? NULL : tag);
	ok = ok && EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc);
	if (!gcm)
		ok = ok && EVP_CipherUpdate(x, NULL, &l, NULL, (int)n);
	ok = ok && EVP_CipherUpdate(x, NULL, &l, aad, 13);
	if (gcm && !enc)
		ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, tl, tag);
	ok = ok && EVP_CipherUpdate(x, out, &l, in, (int)n);
	if (gcm || enc)
		ok = ok && EVP_CipherFinal_ex(x, out + l, &l) > 0;
	if (enc)
		ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, tl, tag);
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -1;
}

/* A record sealed as RFC 5288/6655 with DTLS (explicit nonce = epoch || seq). */
static inline size_t dc_seal(int gcm, const uint8_t key[16], const uint8_t iv[4], uint16_t epoch,
			     uint64_t seq, uint8_t type, const uint8_t *p, size_t n, uint8_t *out)
{
	uint8_t nonce[12], aad[13];
	size_t tl = gcm ? 16 : 8;
	memcpy(nonce, iv, 4);
	dc_put16(nonce + 4, epoch);
	dc_put48(nonce + 6, seq);
	memcpy(aad, nonce + 4, 8);
	aad[8] = type;
	aad[9] = 0xfe;
	aad[10] = 0xfd;
	dc_put16(aad + 11, (unsigned)n);
	out[0] = type;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memcpy(out + 3, nonce + 4, 8);
	dc_put16(out + 11, (unsigned)(8 + n + tl));
	memcpy(out + 13, nonce + 4, 8);
	if (dc_aead(gcm, 1, key, nonce, aad, p, n, out + 21, out + 21 + n) != 0)
		return 0;
	return 21 + n + tl;
}

/* Opens record r (rlen bytes, header included); -1 if it does not authenticate. */
static inline int dc_open(int gcm, const uint8_t key[16], const uint8_t iv[4], const uint8_t *r,
			  size_t rlen, uint8_t *out, size_t *n)
{
	size_t tl = gcm ? 16 : 8;
	if (rlen < 13 + 8 + tl)
		return -1;
	*n = rlen - 13 - 8 - tl;
	uint8_t nonce[12], aad[13], tag[16];
	memcpy(nonce, iv, 4);
	memcpy(nonce + 4, r + 13, 8);
	memcpy(aad, r + 3, 8);
	aad[8] = r[0];
	aad[9] = 0xfe;
	aad[10] = 0xfd;
	dc_put16(aad + 11, (unsigned)*n);
	memcpy(tag, r + 21 + *n, tl);
	return dc_aead(gcm, 0, key, nonce, aad, r + 21, *n, out, tag);
}

/* The session keys of a PSK handshake (RFC 4279 2, RFC 5246 6.3, RFC 7627 4 when ems_hash). */
struct dc_keys {
	uint8_t ms[48], ckey[16], skey[16], civ[4], siv[4];
};
static inline void dc_derive(const uint8_t *psk, size_t pl, const uint8_t cr[32],
			     const uint8_t sr[32], const uint8_t *ems_hash, struct dc_keys *k)
{
	uint8_t pms[4 + 2 * 64], kb[40], seed[64];
	dc_put16(pms, (unsigned)pl);
	memset(pms + 2, 0, pl);
	dc_put16(pms + 2 + pl, (unsigned)pl);
	memcpy(pms + 4 + pl, psk, pl);
	memcpy(seed, cr, 32);
	memcpy(seed + 32, sr, 32);
	if (ems_hash)
		dc_prf(pms, 4 + 2 * pl, "extended master secret", ems_hash, 32, NULL, 0, k->ms, 48);
	else
		dc_prf(pms, 4 + 2 * pl, "master secret", seed, 64, NULL, 0, k->ms, 48);
	memcpy(seed, sr, 32);
	memcpy(seed + 32, cr, 32);
	dc_prf(k->ms, 48, "key expansion", seed, 64, NULL, 0, kb, 40);
	memcpy(k->ckey, kb, 16);
	memcpy(k->skey, kb + 16, 16);
	memcpy(k->civ, kb + 32, 4);
	memcpy(k->siv, kb + 36, 4);
}

#endif
