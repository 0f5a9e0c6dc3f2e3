/* AES-128-CMAC (include/emse/dtls/aescmac.h).
 *
 * RFC 4493: L = E(0); K1 = dbl(L), K2 = dbl(K1), dbl being a left shift in GF(2^128) (x^128 =
 * x^7 + x^2 + x + 1: 0x87). X = 0; X = E(X ^ M_i) for every block but the last; the last is
 * M_n ^ K1 if whole, else (M_n || 0x80 || 0...) ^ K2 (an empty message is one padded block); the
 * tag is E(X ^ last). A serial chain: nothing to interleave, so one block at a time. */

/* AES_set_encrypt_key & co are deprecated in OpenSSL 3 but are its one alloc-free, lock-free way
 * to run AES on a key made once and shared read-only (EVP contexts are mutable and allocate). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>

#include <openssl/aes.h>
#include <openssl/crypto.h>

#include "aes_ni.h"
#include "emse/dtls/aescmac.h"

_Static_assert(sizeof(AES_KEY) <= sizeof(((struct emse_cmac_key *)0)->s.ossl), "AES_KEY fits");

static const AES_KEY *ossl(const struct emse_cmac_key *k)
{
	return (const AES_KEY *)(const void *)k->s.ossl;
}

static void dbl(uint8_t out[16], const uint8_t in[16])
{
	uint8_t carry = in[0] >> 7; /* a mask, not a branch: L is secret */
	for (int i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1 ^ (0x87 & -carry));
}

/* An empty message, or a last block of r < 16 octets, padded: 0x80 at octet r. */
static const uint8_t PAD[32] = {[16] = 0x80};

TARGET_BEGIN(NARROW)

static void init_ni(struct emse_cmac_key *k, const uint8_t key[16], uint8_t l[16])
{
	__m128i rk[11];
	aes128_schedule(rk, key);
	for (int r = 0; r < 11; r++)
		store(k->s.rk[r], rk[r]);
	explicit_bzero(rk, sizeof(rk));
	store(l, aes_one(k->s.rk, _mm_setzero_si128()));
}

static void cmac_ni(const struct emse_cmac_key *k, const uint8_t *msg, size_t n,
		    uint8_t tag[EMSE_CMAC_LEN])
{
	const uint8_t (*rk)[16] = k->s.rk;
	__m128i x = _mm_setzero_si128();
	size_t off = 0;
	for (; n - off > 16; off += 16)
		x = aes_one(rk, _mm_xor_si128(x, load(msg + off)));
	size_t r = n - off; /* 0 only for an empty message */
	__m128i last = r == 16 ? _mm_xor_si128(load(msg + off), load(k->k1))
			       : _mm_xor_si128(_mm_or_si128(r ? load_partial(msg + off, r)
							       : _mm_setzero_si128(),
							   load(PAD + 16 - r)),
					       load(k->k2));
	store(tag, aes_one(rk, _mm_xor_si128(x, last)));
}

TARGET_END

static void cmac_ossl(const struct emse_cmac_key *k, const uint8_t *msg, size_t n,
		      uint8_t tag[EMSE_CMAC_LEN])
{
	uint8_t x[16] = {0};
	size_t off = 0;
	for (; n - off > 16; off += 16) {
		for (int i = 0; i < 16; i++)
			x[i] ^= msg[off + i];
		AES_encrypt(x, x, ossl(k));
	}
	size_t r = n - off;
	for (size_t i = 0; i < 16; i++)
		x[i] ^= r == 16 ? msg[off + i] ^ k->k1[i]
				: (i < r ? msg[off + i] : PAD[16 - r + i]) ^ k->k2[i];
	AES_encrypt(x, tag, ossl(k));
	OPENSSL_cleanse(x, sizeof(x));
}

void emse_cmac_init_impl(struct emse_cmac_key *k, const uint8_t key[16], int ni)
{
	uint8_t l[16];
	memset(k, 0, sizeof(*k));
	k->ni = ni && emse_aesni_cpu();
	if (k->ni) {
		init_ni(k, key, l);
	} else {
		AES_set_encrypt_key(key, 128, (AES_KEY *)(void *)k->s.ossl);
		memset(l, 0, sizeof(l));
		AES_encrypt(l, l, ossl(k));
	}
	dbl(k->k1, l);
	dbl(k->k2, k->k1);
	OPENSSL_cleanse(l, sizeof(l));
}

void emse_cmac_init(struct emse_cmac_key *k, const uint8_t key[16])
{
	emse_cmac_init_impl(k, key, 1);
}

void emse_cmac_wipe(struct emse_cmac_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

void emse_cmac(const struct emse_cmac_key *k, const uint8_t *msg, size_t n,
	       uint8_t tag[EMSE_CMAC_LEN])
{
	if (k->ni)
		cmac_ni(k, msg, n, tag);
	else
		cmac_ossl(k, msg, n, tag);
}
