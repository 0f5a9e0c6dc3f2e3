/* HMAC-SHA-256 from keyed states, and the TLS 1.2 PRF on it (include/emse/dtls/hmac256.h). */

/* SHA256_Init & co are deprecated in OpenSSL 3 but are the one alloc-free, lock-free way to
 * hash there: EVP_MAC_init / HMAC() allocate (measured: 10 allocator calls per cookie). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <openssl/crypto.h>

#include "emse/dtls/hmac256.h"

void emse_hmac256_key(struct emse_hmac256 *k, const uint8_t *key, size_t len)
{
	uint8_t kb[SHA256_CBLOCK], pad[SHA256_CBLOCK];
	memset(kb, 0, sizeof(kb));
	if (len > sizeof(kb)) { /* RFC 2104: a key longer than a block is hashed first */
		SHA256_CTX c; /* not SHA256(): in OpenSSL 3 that fetches an EVP method (locks) */
		SHA256_Init(&c);
		SHA256_Update(&c, key, len);
		SHA256_Final(kb, &c);
		OPENSSL_cleanse(&c, sizeof(c));
	} else
		memcpy(kb, key, len);
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = kb[i] ^ 0x36;
	SHA256_Init(&k->inner);
	SHA256_Update(&k->inner, pad, sizeof(pad));
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = kb[i] ^ 0x5c;
	SHA256_Init(&k->outer);
	SHA256_Update(&k->outer, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(kb, sizeof(kb));
}

void emse_hmac256(const struct emse_hmac256 *k, const struct emse_part *parts, unsigned n_parts,
		  uint8_t out[EMSE_HMAC256_LEN])
{
	SHA256_CTX c = k->inner;
	uint8_t ih[SHA256_DIGEST_LENGTH];
	for (unsigned i = 0; i < n_parts; i++)
		SHA256_Update(&c, parts[i].p, parts[i].n);
	SHA256_Final(ih, &c);
	c = k->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(ih, sizeof(ih));
}

void emse_hmac256_wipe(struct emse_hmac256 *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

void emse_tls12_prf_keyed(const struct emse_hmac256 *k, const char *label, const uint8_t *seed1,
			  size_t s1len, const uint8_t *seed2, size_t s2len, uint8_t *out,
			  size_t outlen)
{
	uint8_t a[EMSE_HMAC256_LEN], blk[EMSE_HMAC256_LEN];
	struct emse_part msg[4] = {
		{a, sizeof(a)}, {label, strlen(label)}, {seed1, s1len}, {seed2, s2len},
	};
	/* A(1) = HMAC(label || seed); block i = HMAC(A(i) || label || seed); A(i+1) = HMAC(A(i)) */
	emse_hmac256(k, msg + 1, 3, a);
	for (size_t done = 0; done < outlen;) {
		emse_hmac256(k, msg, 4, blk);
		size_t n = outlen - done < sizeof(blk) ? outlen - done : sizeof(blk);
		memcpy(out + done, blk, n);
		done += n;
		if (done < outlen)
			emse_hmac256(k, msg, 1, a);
	}
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(blk, sizeof(blk));
}
